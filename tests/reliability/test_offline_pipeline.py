"""The demo pipeline (prepare + captions, teach against a local fake vLLM, train a tiny student,
predict) in subprocesses where every outbound connection but the teacher endpoint is refused
and logged, with no HF offline switch set by the caller: it passes, and nothing tried to
reach the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from harness import DEMO_CONFIG, REPO, ServerProcess, cotpd_command, teach_args

from corpus.offline import OFFLINE_SWITCHES

GUARD = Path(__file__).resolve().parent / "netguard"


def guarded_env(log: Path, allowed: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in OFFLINE_SWITCHES and not k.startswith(("HF_", "TRANSFORMERS_"))}
    return {**env, "PYTHONPATH": str(GUARD), "COTPD_ALLOWED": allowed,
            "COTPD_NETGUARD_LOG": str(log)}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_the_guard_refuses_and_logs_outbound_connections(tmp_path: Path) -> None:
    log = tmp_path / "refused.jsonl"
    probe = ("import socket\ntry:\n    socket.create_connection(('192.0.2.1', 443), timeout=1)\n"
             "except ConnectionRefusedError as e:\n    print('refused:', e)\n")
    done = run([sys.executable, "-c", probe], guarded_env(log, ""))
    assert "refused: netguard" in done.stdout, done.stderr
    assert json.loads(log.read_text())["address"] == ["192.0.2.1", 443]


def test_demo_pipeline_runs_with_the_network_refused(tmp_path: Path, tiny_encoder: Path) -> None:
    log, out = tmp_path / "refused.jsonl", tmp_path / "runs"
    with ServerProcess(tmp_path / "requests.jsonl") as server:
        env = guarded_env(log, f"127.0.0.1:{server.port}")
        common = ["--set", f"run.output_dir={out}"]
        steps = {
            "caption": ["caption", str(DEMO_CONFIG), *common],  # the demo's file captions
            "teach": teach_args(out, server.url, prompts="[noun,sentence]"),
            "train": ["train", str(DEMO_CONFIG), *common,
                      "--set", f"student.encoder={tiny_encoder}",
                      "--set", "student.train.max_steps=4", "--set", "student.train.eval_steps=4",
                      "--set", "student.train.batch_size=8"],
        }
        for name, args in steps.items():
            done = run(cotpd_command(*args), env)
            assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
    model = out / "demo_mner" / "student" / "model"
    predicted = run(cotpd_command("predict", "--model", model, "--text", "Obama visits Paris"), env)
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert len(json.loads(predicted.stdout.splitlines()[-1])["labels"]) == 3
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 in Paris\n".encode("latin-1"))
    refused = run(cotpd_command("predict", "--model", model, "--input", latin1), env)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert f"{latin1}:1: found bytes" in refused.stderr and "not UTF-8" in refused.stderr

    assert not log.exists(), log.read_text()  # no step even tried to reach the network
    weights = {p.name for p in model.rglob("*") if p.is_file()}
    assert "model.safetensors" in weights
    assert not [w for w in weights if w.endswith((".bin", ".pt", ".pth", ".pkl", ".ckpt"))]
    report = json.loads((out / "demo_mner" / "student" / "train_report.json").read_text())
    assert report["context"]["train"]["with_knowledge"] == 90  # the teacher's knowledge
    assert report["context"]["train"]["with_caption"] == 90  # the caption stage's captions


def test_the_stack_sets_the_hf_offline_switches_itself(tmp_path: Path) -> None:
    probe = ("import json, os\nfrom pipeline.cli import main\nmain(['data', 'list'])\n"
             f"print(json.dumps({{k: os.environ.get(k) for k in {sorted(OFFLINE_SWITCHES)!r}}}))")
    done = run([sys.executable, "-c", probe], guarded_env(tmp_path / "refused.jsonl", ""))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == OFFLINE_SWITCHES
