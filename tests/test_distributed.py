"""Multi-process training on CPU: DeepSpeed ZeRO-2 and torchrun at world size 2 (gloo)."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from corpus.registry import get_dataset, read_split
from eval.metrics import mner_scores
from student.predict import StudentPredictor

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_command(tmp_path: Path, encoder: Path, context: tuple[Path, Path],
                  *extra: str) -> list[str]:
    captions, knowledge = context
    return ["-m", "pipeline.cli", "train", str(REPO / "configs" / "demo_mner.yaml"),
            "--set", f"run.output_dir={tmp_path}", "--set", f"student.encoder={encoder}",
            "--set", f"student.context.captions={captions}",
            "--set", f"student.context.knowledge=[{knowledge}]",
            "--set", "student.variant=cpd", "--set", "student.train.max_steps=2",
            "--set", "student.train.eval_steps=2", "--set", "student.train.batch_size=8", *extra]


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=REPO, env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed absent")
def test_deepspeed_zero2_step_on_cpu(tmp_path: Path, tiny_encoder: Path, demo_context) -> None:
    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    zero2 = REPO / "configs" / "deepspeed" / "zero2.json"
    run([sys.executable, *train_command(tmp_path, tiny_encoder, demo_context, "--set",
                                        f"student.train.deepspeed={zero2}")], env)
    checkpoint = tmp_path / "demo_mner" / "student" / "checkpoints" / "checkpoint-2"
    assert (checkpoint / "global_step2").is_dir()  # DeepSpeed's own ZeRO checkpoint
    report = json.loads((tmp_path / "demo_mner" / "student" / "train_report.json").read_text())
    assert report["steps"] == 2
    assert StudentPredictor.load(tmp_path / "demo_mner" / "student" / "model")


def test_torchrun_world_size_2_gathers_every_dev_prediction(tmp_path: Path, tiny_encoder: Path,
                                                            demo_context) -> None:
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_port", str(free_port()),
               *train_command(tmp_path, tiny_encoder, demo_context)]
    run(command, {})
    report = json.loads((tmp_path / "demo_mner" / "student" / "train_report.json").read_text())
    # The dev F1 gathered from two ranks equals one process scoring the saved model on dev.
    dev = read_split(get_dataset("demo_mner"), "dev").samples
    predictor = StudentPredictor.load(tmp_path / "demo_mner" / "student" / "model")
    f1 = mner_scores([s.labels for s in dev], predictor.predict_samples(dev)).micro.f1
    assert report["dev"]["eval_f1"] == pytest.approx(f1)
