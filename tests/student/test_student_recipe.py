"""The distillation recipe switches of the student: prompt position, dropout-free knowledge
side, hidden-state term, a faster rate for new parameters, and settings that are refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from cotpd.corpus.registry import get_dataset, read_split
from cotpd.student.config import StudentConfig
from cotpd.student.data import EncodedDataset, ViewCollator
from cotpd.student.labels import label_list
from cotpd.student.model import StudentModel, _insert_after_text
from cotpd.student.trainer import DistillationTrainer
from cotpd.student.views import ViewBuilder
from pydantic import ValidationError
from transformers import AutoModel, AutoTokenizer, TrainingArguments


def build(tiny_encoder: Path, **settings) -> tuple[StudentModel, dict[str, torch.Tensor]]:
    """A tiny StudentModel and one training batch of 4 demo sentences with context."""
    torch.manual_seed(0)
    config = StudentConfig.model_validate({"encoder": str(tiny_encoder), **settings})
    tokenizer = AutoTokenizer.from_pretrained(tiny_encoder)
    encoder = AutoModel.from_pretrained(tiny_encoder, add_pooling_layer=False)
    samples = read_split(get_dataset("demo_mner"), "train").samples[:4]
    for s in samples:
        s.context.caption, s.context.knowledge = "a photo", "Named: " + " ".join(s.tokens[:2])
    labels = label_list("mner", None, samples)
    views = [config.train_view] + ([config.distill_view] if config.distill_view else [])
    dataset = EncodedDataset(samples, views, ViewBuilder(tokenizer, config.views),
                             {label: i for i, label in enumerate(labels)})
    batch = ViewCollator(tokenizer.pad_token_id)([dataset[i] for i in range(4)])
    return StudentModel(encoder, config, "mner", len(labels)), batch


def test_insert_after_text_puts_each_rows_prompt_before_its_padding() -> None:
    embed = torch.arange(2 * 4, dtype=torch.float).reshape(2, 4, 1)  # row 1 has 2 pads
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    prompt = torch.full((2, 2, 1), -1.0)
    inputs, full = _insert_after_text(embed, mask, prompt)
    assert inputs[0, :, 0].tolist() == [0, 1, 2, 3, -1, -1]
    assert inputs[1, :, 0].tolist() == [4, 5, -1, -1, 6, 7]
    assert full.tolist() == [[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]


@pytest.mark.parametrize("variant", ["cpd", "upd", "prefix"])
@pytest.mark.parametrize("position", ["after_cls", "after_text"])
def test_prompt_view_labels_do_not_depend_on_batch_padding(tiny_encoder: Path, variant: str,
                                                           position: str) -> None:
    model, batch = build(tiny_encoder, variant=variant, prompt={"position": position})
    model.eval()
    together = model.logits(batch, "prompt")
    for row in range(4):
        single = {k: v[row:row + 1] for k, v in batch.items()}
        words = int(batch["text_word_mask"][row].sum())
        length = int(batch["text_attention_mask"][row].sum())
        single = {k: (v[:, :length] if k.startswith("text_") and "word" not in k else v)
                  for k, v in single.items()}
        alone = model.logits(single, "prompt")
        assert torch.allclose(alone[0, :words], together[row, :words], atol=1e-5)


def test_knowledge_side_without_dropout_is_deterministic_and_modes_come_back(
        tiny_encoder: Path) -> None:
    model, batch = build(tiny_encoder, variant="cpd", distill={"knowledge_dropout": False})
    model.train()
    first, second = model(**batch)["nll"], model(**batch)["nll"]
    assert torch.equal(first, second)  # the knowledge view's NLL saw no dropout
    assert all(m.training for m in model.modules())
    model_on, batch_on = build(tiny_encoder, variant="cpd")
    model_on.train()
    assert not torch.equal(model_on(**batch_on)["nll"], model_on(**batch_on)["nll"])


def test_hidden_term_is_a_logged_part_of_the_loss(tiny_encoder: Path) -> None:
    model, batch = build(tiny_encoder, variant="cpd",
                         distill={"hidden_weight": 0.5, "prompt_nll_weight": 0.3})
    model.eval()
    out = model(**batch)
    assert set(out) == {"loss", "nll", "kl", "prompt_nll", "hidden"}
    expected = out["nll"] + out["kl"] + 0.3 * out["prompt_nll"] + 0.5 * out["hidden"]
    assert out["hidden"] > 0 and torch.allclose(out["loss"], expected)
    plain, plain_batch = build(tiny_encoder, variant="text")
    assert set(plain(**plain_batch)) == {"loss", "nll"}


def test_new_parameters_train_at_the_multiplied_rate(tiny_encoder: Path, tmp_path: Path
                                                     ) -> None:
    model, _ = build(tiny_encoder, variant="cpd")
    args = TrainingArguments(output_dir=str(tmp_path), learning_rate=1e-4, use_cpu=True,
                             report_to=[])
    trainer = DistillationTrainer(model=model, args=args, infer_view="prompt",
                                  new_parameters_lr_multiplier=50.0)
    optimizer = trainer.create_optimizer()
    rate = {id(p): group["lr"] for group in optimizer.param_groups for p in group["params"]}
    for name, param in model.named_parameters():
        want = 1e-4 if name.startswith("encoder.") else 5e-3
        assert rate[id(param)] == pytest.approx(want), name
    assert len(rate) == sum(1 for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("settings,message", [
    ({"variant": "two_stage"}, "exactly one of"),
    ({"variant": "two_stage", "distill": {"teacher": "t", "folds": 3}}, "exactly one of"),
    ({"variant": "two_stage", "distill": {"teacher": "t", "folds": 1}}, "exactly one of"),
    ({"variant": "cpd", "distill": {"teacher": "t"}}, "for the two-stage variants"),
    ({"variant": "text", "distill": {"unlabelled": ["u.jsonl"]}}, "needs a distilling"),
    ({"variant": "two_stage", "distill": {"teacher": "t", "hidden_weight": 1.0}},
     "only have cached outputs"),
])
def test_recipe_settings_that_cannot_work_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        StudentConfig.model_validate(settings)


def test_a_crf_head_honours_the_temperature(tiny_encoder: Path) -> None:
    cool, batch = build(tiny_encoder, variant="cpd", head="crf")
    warm, _ = build(tiny_encoder, variant="cpd", head="crf", distill={"temperature": 3.0})
    warm.load_state_dict(cool.state_dict())
    cool.eval()
    warm.eval()
    kl_1, kl_3 = cool(**batch)["kl"], warm(**batch)["kl"]
    assert kl_1 > 0 and kl_3 > 0 and not torch.allclose(kl_1, kl_3)


def test_a_deepspeed_optimizer_that_would_flatten_the_rates_is_refused(tmp_path: Path) -> None:
    import json

    from cotpd.corpus.errors import CotpdError
    from cotpd.student.training_args import check_deepspeed_keeps_group_rates

    repo = Path(__file__).resolve().parents[2]
    for shipped in ("zero2.json", "zero3.json"):  # cotpd's AdamW runs under ZeRO
        check_deepspeed_keeps_group_rates(repo / "configs" / "deepspeed" / shipped)
    own = tmp_path / "ds.json"
    own.write_text(json.dumps({"zero_optimization": {"stage": 2},
                               "optimizer": {"type": "AdamW", "params": {"lr": "auto"}}}))
    with pytest.raises(CotpdError, match="optimizer section.*new_parameters_lr_multiplier=1"):
        check_deepspeed_keeps_group_rates(own)
