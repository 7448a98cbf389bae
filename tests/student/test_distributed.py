"""Multi-process training on CPU: DeepSpeed ZeRO-2 and ZeRO-3 steps in one process and on two
ranks (torchrun, gloo), and torchrun at world size 2 without DeepSpeed."""

import importlib.util
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from cotpd.corpus.registry import get_dataset, read_split
from cotpd.eval.metrics import mner_scores
from cotpd.student.predict import StudentPredictor

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_command(tmp_path: Path, encoder: Path, context: tuple[Path, Path],
                  *extra: str) -> list[str]:
    captions, knowledge = context
    return ["-m", "cotpd.pipeline.cli", "train", str(REPO / "configs" / "demo_mner.yaml"),
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
@pytest.mark.parametrize("stage", [2, 3])
def test_deepspeed_zero_step_on_cpu(stage: int, tmp_path: Path, tiny_encoder: Path,
                                    demo_context) -> None:
    """Two optimizer steps under ZeRO-`stage`: the ZeRO checkpoint rebuilds into the saved
    model's weights, the encoder's weights moved, every logged loss is finite, and the saved
    student predicts."""
    from safetensors.torch import load_file

    env = {"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1",
           "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(free_port())}
    zero = REPO / "configs" / "deepspeed" / f"zero{stage}.json"
    run([sys.executable, *train_command(tmp_path, tiny_encoder, demo_context, "--set",
                                        f"student.train.deepspeed={zero}",
                                        "--set", "student.train.logging_steps=1")], env)
    student = tmp_path / "demo_mner" / "student"
    report = json.loads((student / "train_report.json").read_text())
    assert report["steps"] == 2
    losses = [entry["loss"] for entry in report["loss_log"]]
    assert len(losses) == 2 and all(math.isfinite(loss) and loss > 0 for loss in losses)

    saved = check_zero_checkpoint(student, stage, ranks=1)
    # The steps trained: every encoder matrix moved from the tiny encoder's weights.
    initial = load_file(tiny_encoder / "model.safetensors")
    matrices = [name for name, tensor in initial.items()  # (the student drops the pooler)
                if tensor.dim() == 2 and f"encoder.{name}" in saved]
    assert "embeddings.word_embeddings.weight" in matrices and len(matrices) > 10
    moved = [name for name in matrices if not torch.equal(saved[f"encoder.{name}"],
                                                          initial[name])]
    assert moved == matrices

    check_logged_dev_f1(student, report)


def check_zero_checkpoint(student: Path, stage: int, ranks: int) -> dict[str, torch.Tensor]:
    """DeepSpeed's own checkpoint after 2 steps: ZeRO-`stage` state split over `ranks` (one
    optimizer shard per rank, and for ZeRO-3 one parameter shard per rank), and rebuilt into
    fp32 it equals the student that was saved. Returns the saved weights."""
    from deepspeed.utils.zero_to_fp32 import get_fp32_state_dict_from_zero_checkpoint
    from safetensors.torch import load_file

    checkpoint = student / "checkpoints" / "checkpoint-2"
    shards = sorted((checkpoint / "global_step2").glob("*optim_states.pt"))
    assert len(shards) == ranks, shards
    for shard in shards:
        states = torch.load(shard, map_location="cpu", weights_only=False)
        assert states["optimizer_state_dict"]["zero_stage"] == stage  # no silent fallback
        counts = states["optimizer_state_dict"]["partition_count"]  # one per param group
        assert set(counts if isinstance(counts, list) else [counts]) == {ranks}
    if stage == 3:
        assert len(list((checkpoint / "global_step2").glob("*model_states.pt"))) == ranks
    rebuilt = get_fp32_state_dict_from_zero_checkpoint(str(checkpoint))
    saved = load_file(student / "model" / "model.safetensors")
    assert set(rebuilt) == set(saved)
    for name, tensor in saved.items():
        assert torch.equal(rebuilt[name].to(tensor.dtype), tensor), name
    return saved


def check_logged_dev_f1(student: Path, report: dict) -> None:
    """The saved student predicts every dev word, and the dev F1 the trainer logged (gathered
    from every rank) is that model's own."""
    predictor = StudentPredictor.load(student / "model")
    dev = read_split(get_dataset("demo_mner"), "dev").samples
    predictions = predictor.predict_samples(dev)
    assert [len(p) for p in predictions] == [len(s.tokens) for s in dev]
    f1 = mner_scores([s.labels for s in dev], predictions).micro.f1
    assert report["dev"]["eval_f1"] == pytest.approx(f1)


@pytest.mark.skipif(importlib.util.find_spec("deepspeed") is None, reason="deepspeed absent")
@pytest.mark.parametrize(("stage", "launcher"), [
    (2, "torchrun"), (3, "torchrun"),
    pytest.param(2, "deepspeed", marks=pytest.mark.slow)])  # the same ranks, another starter
def test_deepspeed_zero_on_two_ranks(stage: int, launcher: str, tmp_path: Path,
                                     tiny_encoder: Path, demo_context) -> None:
    """ZeRO-`stage` across two processes on CPU (gloo), started by torchrun or by the
    deepspeed launcher (`--num_gpus 2` counts processes here): the state is split over both
    ranks, the rebuilt checkpoint is the saved student, and the logged dev F1 is its."""
    zero = REPO / "configs" / "deepspeed" / f"zero{stage}.json"
    train = train_command(tmp_path, tiny_encoder, demo_context, "--set",
                          f"student.train.deepspeed={zero}")
    if launcher == "torchrun":
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
                   "--master-port", str(free_port()), *train]
    else:  # the CLI takes no --local_rank; the module form, as `deepspeed --module`
        command = [sys.executable, "-m", "deepspeed.launcher.runner", "--num_gpus", "2",
                   "--no_local_rank", "--master_port", str(free_port()), "--module",
                   *train[1:]]
    run(command, {})
    student = tmp_path / "demo_mner" / "student"
    report = json.loads((student / "train_report.json").read_text())
    assert report["steps"] == 2
    check_zero_checkpoint(student, stage, ranks=2)
    check_logged_dev_f1(student, report)


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
