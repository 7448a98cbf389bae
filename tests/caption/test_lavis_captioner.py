"""The LAVIS BLIP-2 captioner. In the main environment: the `caption.lavis` config, the
missing-file errors, and the worker's process boundary. With .venv-lavis (marked `lavis`):
`cotpd caption` starts the worker there, which builds LAVIS's real Blip2OPT from tiny files
(tests/data/lavis/tiny_lavis.py says what stands in for what) and captions good and bad
images, batched and resumable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cotpd.caption.config import LAVIS_FILE_KEYS, CaptionConfig, LavisConfig
from cotpd.caption.lavis_files import LavisFileMissing, check_lavis_files
from cotpd.caption.stage import run as run_caption
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.registry import get_dataset
from cotpd.pipeline.cli_caption import caption, load_caption_configs
from cotpd.pipeline.config import ConfigError, RunConfig
from pydantic import ValidationError
from test_captioning import EXPECTED, lines_by_id, write_dataset

REPO = Path(__file__).resolve().parents[2]
LAVIS_PYTHON = REPO / ".venv-lavis" / "bin" / "python"
TINY = REPO / "tests" / "data" / "lavis"
WORKER_LOGGER = "cotpd.caption.lavis_worker"
WORKER_STARTED = "LAVIS worker: %s captions in this environment"


def fake_files(root: Path) -> dict[str, str]:
    """Files in the places and shapes LAVIS reads (their content is never read here)."""
    (root / "llm").mkdir(parents=True)
    (root / "bert").mkdir()
    for name in ("blip2.pth", "eva_vit_g.pth", "llm/config.json", "llm/pytorch_model.bin",
                 "llm/vocab.json", "llm/merges.txt", "bert/config.json", "bert/vocab.txt",
                 "bert/model.safetensors"):
        (root / name).write_text("{}")
    return {"checkpoint": str(root / "blip2.pth"), "vit_weights": str(root / "eva_vit_g.pth"),
            "llm": str(root / "llm"), "bert": str(root / "bert")}


def test_lavis_section_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs caption.lavis.checkpoint, caption.lavis."
                       "vit_weights, caption.lavis.llm, caption.lavis.bert"):
        CaptionConfig(backend="lavis")
    with pytest.raises(ValidationError, match="not a blip2_t5 caption model"):
        LavisConfig(name="blip2_t5", model_type="caption_coco_opt2.7b")
    assert CaptionConfig().lavis.model_type == "caption_coco_opt2.7b"  # unused unless chosen
    config = tmp_path / "c.yaml"
    files = fake_files(tmp_path)
    config.write_text("data: {dataset: demo_mner}\ncaption:\n  backend: lavis\n  lavis:\n"
                      + "".join(f"    {k}: {v}\n" for k, v in files.items()))
    _, loaded = load_caption_configs(config, [])
    assert loaded.lavis.checkpoint == files["checkpoint"] and loaded.lavis.name == "blip2_opt"
    with pytest.raises(ConfigError, match="caption.lavis.chekpoint"):
        load_caption_configs(config, ["caption.lavis.chekpoint=x"])
    with pytest.raises(ConfigError, match="needs caption.lavis.bert"):
        load_caption_configs(config, ["caption.lavis.bert=null"])


@pytest.mark.parametrize(("key", "breakage", "message"), [
    ("checkpoint", "blip2.pth", "is not a file"),
    ("vit_weights", "eva_vit_g.pth", "is not a file"),
    ("llm", "llm", "is not a folder"),
    ("llm", "llm/config.json", "has no config.json"),
    ("llm", "llm/pytorch_model.bin", "has no weights"),
    ("llm", "llm/vocab.json", "has no tokenizer"),
    ("bert", "bert/vocab.txt", "has no vocab.txt"),
    ("bert", "bert/model.safetensors", "has no weights"),
])
def test_each_missing_file_is_named(tmp_path: Path, key: str, breakage: str,
                                    message: str) -> None:
    config = LavisConfig(**fake_files(tmp_path))
    assert check_lavis_files(config).bert == tmp_path / "bert"
    broken = tmp_path / breakage
    if broken.is_dir():
        for child in broken.iterdir():
            child.unlink()
        broken.rmdir()
    else:
        broken.unlink()
    with pytest.raises(LavisFileMissing) as caught:
        check_lavis_files(config)
    text = str(caught.value)
    assert text.startswith(f"caption.lavis.{key}: {tmp_path / breakage.split('/')[0]}")
    assert message in text and "\n" not in text and "caption_coco_opt2.7b needs" in text


def test_names_what_lavis_would_download(tmp_path: Path) -> None:
    files = fake_files(tmp_path)
    config = LavisConfig(name="blip2_t5", model_type="pretrain_flant5xl_vitL",
                         **{**files, "vit_weights": str(tmp_path / "nope.pth")})
    with pytest.raises(LavisFileMissing, match="needs LAVIS's clip_vit_L.pth"):
        check_lavis_files(config)
    (tmp_path / "nope.pth").write_text("")
    with pytest.raises(LavisFileMissing, match=r"has no tokenizer \(spiece.model or tokenizer"
                       r".json\) \(pretrain_flant5xl_vitL needs the Hugging Face folder of "
                       "google/flan-t5-xl"):
        check_lavis_files(config)
    assert set(LAVIS_FILE_KEYS) == {"checkpoint", "vit_weights", "llm", "bert"}


def demo_run(tmp_path: Path) -> RunConfig:
    return RunConfig.model_validate({"data": {"dataset": "demo_mner"},
                                     "run": {"output_dir": str(tmp_path)}})


def test_main_env_checks_files_and_interpreter_before_starting(tmp_path: Path) -> None:
    files = fake_files(tmp_path / "f")
    run_dir = tmp_path / "run"
    broken = CaptionConfig(backend="lavis", lavis={**files, "llm": str(tmp_path / "x")})
    with pytest.raises(LavisFileMissing, match="caption.lavis.llm"):
        run_caption(broken, demo_run(tmp_path).data, run_dir)
    no_python = CaptionConfig(backend="lavis",
                              lavis={**files, "python": str(tmp_path / "py")})
    with pytest.raises(CotpdError, match=r"caption.lavis.python: .*py does not exist.*"
                       "scripts/setup.sh lavis"):
        run_caption(no_python, demo_run(tmp_path).data, run_dir)
    assert not run_dir.exists()  # nothing prepared before the checks


def test_worker_needs_no_torch_and_reports_a_missing_lavis(tmp_path: Path) -> None:
    # The main environment imports the worker module; torch and lavis stay out of it.
    check = ("import sys, caption.lavis_worker, caption.lavis_files, caption.config; "
             "print(sorted(m for m in ('torch', 'lavis', 'transformers') if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                           cwd=REPO, check=True)
    assert found.stdout.strip() == "[]"
    # A python without lavis as caption.lavis.python: the worker says so, in one line.
    config = CaptionConfig(backend="lavis", lavis={**fake_files(tmp_path / "f"),
                                                   "python": sys.executable})
    with pytest.raises(CotpdError, match=r"^caption.lavis.python: .* cannot import lavis; "
                       "build it with `bash scripts/setup.sh lavis`"):
        run_caption(config, demo_run(tmp_path).data, tmp_path / "run")


def test_the_worker_log_lands_in_caption_log(tmp_path: Path, cotpd) -> None:
    # A python without lavis: the worker starts, logs, and stops with its one-line error.
    config = tmp_path / "c.yaml"
    config.write_text(f"data: {{dataset: demo_mner}}\nrun: {{output_dir: {tmp_path}}}\n"
                      "caption:\n  backend: lavis\n  lavis:\n"
                      + "".join(f"    {k}: {v}\n" for k, v in
                                {**fake_files(tmp_path / "f"), "python": sys.executable}.items()))
    result = cotpd("caption", config)
    assert result.exit_code == 2 and "cannot import lavis" in result.err
    log = (tmp_path / "run" / "logs" / "caption.log").read_text(encoding="utf-8")
    assert f" INFO {WORKER_LOGGER}: {WORKER_STARTED % sys.executable}" in log
    assert log.index(WORKER_LOGGER) < log.index("[caption] failed: ")


# --- in .venv-lavis -----------------------------------------------------------------------

needs_lavis = pytest.mark.skipif(not LAVIS_PYTHON.is_file(),
                                 reason=f"{LAVIS_PYTHON} is absent (bash scripts/setup.sh lavis)")


@pytest.fixture(scope="module")
def tiny_lavis(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny stand-in files, and `python`: the worker's interpreter with the tiny ViT."""
    folder = tmp_path_factory.mktemp("tiny_lavis")
    subprocess.run([str(LAVIS_PYTHON), str(TINY / "tiny_lavis.py"), str(folder)], check=True,
                   cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                   stdout=subprocess.DEVNULL)
    python = folder / "python"
    python.write_text(f'#!/bin/sh\nexec "{LAVIS_PYTHON}" "{TINY / "standin_python.py"}" "$@"\n')
    python.chmod(0o755)
    return folder


@pytest.mark.lavis
@needs_lavis
def test_lavis_backend_through_cotpd_caption(tiny_lavis: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    ids = [*EXPECTED, "red", "noise"]  # "noise" last: the line a killed run cuts below
    write_dataset(data, ids)
    spec = get_dataset("twitter2017")
    images = spec.directory_under(data) / str(spec.images)
    for name in ("red", "noise"):
        (images / f"{name}.png").write_bytes((tiny_lavis / f"{name}.png").read_bytes())
    config = tmp_path / "c.yaml"
    files = {k: tiny_lavis / v for k, v in (("checkpoint", "blip2_tiny.pth"),
                                            ("vit_weights", "tiny_eva_vit_g.pth"),
                                            ("llm", "opt"), ("bert", "bert-base-uncased"),
                                            ("python", "python"))}
    config.write_text(
        f"data: {{dataset: twitter2017, data_root: {data}}}\nrun: {{output_dir: {tmp_path}}}\n"
        "caption:\n  backend: lavis\n  batch_size: 3\n  max_new_tokens: 6\n"
        "  max_image_pixels: 1000000\n  lavis:\n"
        + "".join(f"    {k}: {v}\n" for k, v in files.items()))
    result = CliRunner().invoke(caption, [str(config)])
    assert result.exit_code == 0, result.output
    assert "captions (lavis" in result.output and "8 ok, 5 failed" in result.output

    output = tmp_path / "run" / "captions" / "captions.jsonl"
    records = lines_by_id(output)
    assert sorted(records) == sorted(ids)
    # Same captions as the model the checkpoint was saved from: LAVIS loaded every file.
    expected = json.loads((tiny_lavis / "expected.json").read_text())
    assert {i: records[i][0]["caption"] for i in expected} == expected
    for image_id, (status, reason) in EXPECTED.items():
        [record] = records[image_id]
        assert (record["status"], record["reason"]) == (status, reason), record
        assert (status == "ok") == bool(record["caption"])
    record = records["red"][0]
    assert record["backend"] == "lavis" and record["model"] == str(files["checkpoint"])
    assert record["params"]["model_type"] == "caption_coco_opt2.7b"
    assert record["params"]["prompt"] == "a photo of"  # the model type's own
    summary = json.loads((tmp_path / "run" / "captions" / "summary.json").read_text())
    assert summary["failed_reasons"] == {"empty file": 1, "missing": 1, "not an image": 1,
                                         "too large": 1, "truncated or corrupt": 1}
    assert (tmp_path / "run" / "manifests" / "caption.json").is_file()
    log = (tmp_path / "run" / "logs" / "caption.log").read_text(encoding="utf-8")
    assert f" INFO {WORKER_LOGGER}: LAVIS worker: " in log  # the worker's own records
    assert " INFO cotpd.caption.stage: 13 images: 0 already captioned, 13 to caption" in log
    print(f"tiny LAVIS BLIP-2 on CPU: {summary['captions_per_second']} captions/s")

    *kept, last = output.read_bytes().splitlines(keepends=True)
    output.write_bytes(b"".join(kept) + last[: len(last) // 2])  # a run killed mid-write
    again = CliRunner().invoke(caption, [str(config), "--retry-failed"])
    assert again.exit_code == 0, again.output
    assert "1 ok, 5 failed (" in again.output and "7 already done of 13" in again.output
    records = lines_by_id(output)
    assert all(len(v) == 1 for v in records.values()) and len(records) == 13
    assert records["noise"][0]["caption"] == expected["noise"]  # in another batch now
    done = CliRunner().invoke(caption, [str(config), "--set", "caption.lavis.python=/no/py"])
    assert isinstance(done.exception, CotpdError) and "/no/py" in str(done.exception)
