"""The relation student's options (student.mre): markers, pooling, class weights. Tiny
random encoders only."""

import json
import math
from pathlib import Path

import pytest
import torch
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.records import Mention, MreSample
from cotpd.corpus.registry import get_dataset, read_split
from cotpd.pipeline.config import ConfigError, load_run_config
from cotpd.student.config import MreConfig, StudentConfig
from cotpd.student.data import EncodedDataset, ViewCollator
from cotpd.student.heads import RelationHead
from cotpd.student.model import StudentModel
from cotpd.student.predict import StudentPredictor
from cotpd.student.tasks import MARKERS, student_task
from cotpd.student.views import ViewBuilder
from transformers import AutoModel, AutoTokenizer

REPO = Path(__file__).resolve().parents[2]
LABELS = ["None", "/per/org/member_of", "/per/loc/place_of_residence"]
MRE = student_task("mre")


def instance(relation: str = "/per/org/member_of", index: int = 0) -> MreSample:
    return MreSample(id=f"r{index}", tokens=["Messi", "joins", "Inter", "Miami"],
                     head=Mention("Messi", 0, 1), tail=Mention("Inter Miami", 2, 4),
                     relation=relation, image_id="x.jpg")


def config(**mre) -> StudentConfig:
    return StudentConfig(variant="text", mre=MreConfig(**mre))


def test_markers_are_inserted_as_configured(tiny_encoder: Path) -> None:
    words, flags = MRE.words(instance())
    assert words == ["<h>", "Messi", "</h>", "joins", "<t>", "Inter", "Miami", "</t>"]
    words, flags = MRE.words(instance(), "start")
    assert words == ["<h>", "Messi", "joins", "<t>", "Inter", "Miami"]
    assert flags == [False, True, True, False, True, True]
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    MRE.prepare_tokenizer(tokenizer)
    for markers, present in (("start_end", set(MARKERS)), ("start", {"<h>", "<t>"})):
        view = ViewBuilder.for_student(tokenizer, config(markers=markers)).encode(
            instance(), "text")
        tokens = tokenizer.convert_ids_to_tokens(view.input_ids)
        assert set(MARKERS) & set(tokens) == present
        assert [tokens[p] for p in view.markers] == ["<h>", "<t>"]
        assert len(view.word_starts) == 4


@pytest.mark.parametrize("pooling,parts", [("markers", 2), ("cls_markers", 3)])
def test_each_pooling_reads_its_states(pooling: str, parts: int) -> None:
    head = RelationHead(hidden=8, num_labels=3, dropout=0.0, pooling=pooling).eval()
    states = torch.randn(4, 3, 8)  # [CLS], <h>, <t>
    pooled = head.pool(states)
    assert pooled.shape == (4, parts * 8)
    assert torch.equal(pooled[:, -16:], states[:, 1:].flatten(1))
    if pooling == "cls_markers":
        assert torch.equal(pooled[:, :8], states[:, 0])
    assert head(states).shape == (4, 3)
    assert head.classifier.in_features == parts * 8


@pytest.mark.parametrize("pooling", ["markers", "cls_markers"])
def test_the_model_gathers_cls_and_the_markers(tiny_encoder: Path, pooling: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    encoder = AutoModel.from_pretrained(tiny_encoder, add_pooling_layer=False)
    MRE.prepare_encoder(tokenizer, encoder)
    student = config(pooling=pooling)
    model = StudentModel(encoder, student, "mre", len(LABELS)).eval()
    samples = [instance(), instance("None", 1)]
    dataset = EncodedDataset(samples, ["text"], ViewBuilder.for_student(tokenizer, student),
                             {label: i for i, label in enumerate(LABELS)})
    batch = ViewCollator(tokenizer.pad_token_id)([dataset[0], dataset[1]])
    states = model.word_states(batch, "text")
    assert states.shape == (2, 3, 32)
    full = model.encoder(input_ids=batch["text_input_ids"],
                         attention_mask=batch["text_attention_mask"]).last_hidden_state
    h, t = batch["text_markers"][0].tolist()
    assert torch.allclose(states[0], full[0, [0, h, t]])
    assert model.logits(batch, "text").shape == (2, len(LABELS))


def test_weighted_loss_equals_the_hand_computed_value() -> None:
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 3.0]])
    labels = torch.tensor([0, 1, 0])  # None, member_of, None
    weights = MRE.class_weights(config(none_weight=0.25), [], LABELS)
    assert weights == [0.25, 1.0, 1.0]

    def ce(row: list[float], gold: int) -> float:
        return math.log(sum(math.exp(v) for v in row)) - row[gold]

    rows = logits.tolist()
    expected = (0.25 * ce(rows[0], 0) + 1.0 * ce(rows[1], 1) + 0.25 * ce(rows[2], 0)) / 1.5
    head = RelationHead(4, 3, 0.0, class_weights=torch.tensor(weights))
    parts = MRE.loss(head, config(none_weight=0.25), logits, None, logits, None,
                     {"labels": labels})
    assert parts["loss"].item() == pytest.approx(expected, rel=1e-6)
    unweighted = MRE.loss(RelationHead(4, 3, 0.0), config(), logits, None, logits, None,
                          {"labels": labels})
    assert unweighted["loss"].item() == pytest.approx(
        sum(ce(r, g) for r, g in zip(rows, labels.tolist(), strict=True)) / 3, rel=1e-6)


def test_inverse_frequency_weights_come_from_the_training_labels() -> None:
    train = [instance("None", i) for i in range(6)] + [instance("/per/org/member_of", 9)] * 2
    weights = MRE.class_weights(config(class_weights="inverse_frequency"), train, LABELS)
    # 8 instances over the 2 relations seen: 8 / (2 * 6) and 8 / (2 * 2); unseen ones 1.
    assert weights == pytest.approx([8 / 12, 2.0, 1.0])
    both = MRE.class_weights(config(class_weights="inverse_frequency", none_weight=0.5),
                             train, LABELS)
    assert both == pytest.approx([4 / 12, 2.0, 1.0])
    assert MRE.class_weights(config(), train, LABELS) is None
    with pytest.raises(CotpdError, match="no 'no_relation'"):
        MRE.class_weights(config(none_weight=0.5, none_label="no_relation"), train, LABELS)


def test_mre_options_are_checked_against_the_task() -> None:
    with pytest.raises(ConfigError, match=r"student.mre \(pooling='cls_markers'\) is for "
                                          r"relation \(MRE\).*remove student.mre"):
        load_run_config(REPO / "configs" / "demo_mner.yaml",
                        ["student.mre.pooling=cls_markers"])
    with pytest.raises(ConfigError, match="unknown key 'student.mre.pool'"):
        load_run_config(REPO / "configs" / "demo_mnre.yaml", ["student.mre.pool=markers"])
    with pytest.raises(ConfigError, match="student.mre.markers"):
        load_run_config(REPO / "configs" / "demo_mnre.yaml", ["student.mre.markers=end"])
    # The defaults, written out, are fine for MNER too.
    assert load_run_config(REPO / "configs" / "demo_mner.yaml",
                           ["student.mre.markers=start_end"]).student.mre.is_default


@pytest.mark.parametrize("option", ["markers=start", "pooling=cls_markers",
                                    "class_weights=inverse_frequency", "none_weight=0.3"])
def test_each_option_trains_saves_reloads_and_predicts(option: str, tmp_path: Path,
                                                       tiny_encoder: Path, cotpd) -> None:
    result = cotpd("train", str(REPO / "configs" / "demo_mnre.yaml"),
                   "--set", f"run.output_dir={tmp_path}",
                   "--set", f"student.encoder={tiny_encoder}",
                   "--set", "student.variant=text", "--set", f"student.mre.{option}",
                   "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2",
                   "--set", "student.train.batch_size=8")
    assert result.exit_code == 0, result.err[-2000:]
    model_dir = tmp_path / "demo_mnre" / "student" / "model"
    key, value = option.split("=")
    saved = json.loads((model_dir / "student.json").read_text())["student_config"]["mre"]
    assert str(saved[key]) == value
    predictor = StudentPredictor.load(model_dir, batch_size=4)
    assert str(getattr(predictor.loaded.config.mre, key)) == value
    dev = read_split(get_dataset("demo_mnre"), "dev").samples[:6]
    predicted = predictor.predict_samples(dev)
    assert len(predicted) == 6 and set(predicted) <= set(predictor.loaded.labels)
    if key == "pooling":
        assert predictor.loaded.model.head.classifier.in_features == 3 * 32
