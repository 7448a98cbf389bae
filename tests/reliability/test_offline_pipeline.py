"""Offline by construction, in subprocesses where every outbound connection and name lookup
is refused and logged (tests/reliability/netguard) and no offline switch is set by the caller:

- `cotpd run` with every stage (a BLIP-2 captioner, an in-process teacher, augmentation,
  training, evaluation) passes and nothing tried to reach the network; every model library
  was imported with the switches already set (an import probe writes the environment at each
  first import). The in-process teacher is a tiny transformers model by default; the
  embedded Gemma with `-m slow`; vLLM's engine where vLLM imports (else skipped).
- the demo pipeline step by step (captions from file, teach against a local fake vLLM, train,
  predict), with only the teacher endpoint allowed;
- every package sets the switches when imported, before anything else it imports, and every
  benchmark imports the project before a model library.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cotpd.corpus.offline import OFFLINE_SWITCHES
from harness import DEMO_CONFIG, DEMO_SAMPLES, REPO, ServerProcess, cotpd_command, teach_args

GUARD = Path(__file__).resolve().parent / "netguard"
PACKAGES = ("corpus", "caption", "teacher", "augment", "student", "eval", "pipeline")
# What the switches must include, whatever corpus/offline.py says: the hub, transformers,
# datasets and vLLM's usage statistics.
REQUIRED = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
MODEL_LIBRARIES = ("transformers", "huggingface_hub", "datasets", "vllm", "lavis", "torch")


def guarded_env(log: Path, allowed: str, imports: Path | None = None) -> dict[str, str]:
    """No offline switch from the caller, outbound traffic refused (but `allowed`), and with
    `imports` the environment at each model library's first import logged there."""
    env = {k: v for k, v in os.environ.items()
           if k not in OFFLINE_SWITCHES and k not in REQUIRED
           and not k.startswith(("HF_", "TRANSFORMERS_", "VLLM_"))}
    probe = {} if imports is None else {
        "COTPD_IMPORT_LOG": str(imports),
        "COTPD_PROBE_SWITCHES": ",".join(sorted({*OFFLINE_SWITCHES, *REQUIRED}))}
    return {**env, "PYTHONPATH": str(GUARD), "COTPD_ALLOWED": allowed,
            "COTPD_NETGUARD_LOG": str(log), **probe}


def imports_seen(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.is_file() else []


def assert_switches_before_every_import(log: Path) -> None:
    seen = imports_seen(log)
    for row in seen:
        missing = {k: v for k, v in REQUIRED.items() if row["env"].get(k) != v}
        assert not missing, f"{row['module']} imported before {missing} were set ({row['argv']})"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_the_guard_refuses_and_logs_outbound_connections(tmp_path: Path) -> None:
    log = tmp_path / "refused.jsonl"
    probe = ("import socket\ntry:\n    socket.create_connection(('192.0.2.1', 443), timeout=1)\n"
             "except ConnectionRefusedError as e:\n    print('refused:', e)\n"
             "try:\n    socket.getaddrinfo('huggingface.co', 443)\n"
             "except ConnectionRefusedError as e:\n    print('refused:', e)\n"
             "socket.getaddrinfo('localhost', 80)\n"
             "server = socket.socket()\nserver.bind(('127.0.0.1', 0))\nserver.listen()\n"
             "socket.create_connection(server.getsockname(), timeout=1).close()\n"
             "print('loopback ok')\n")
    done = run([sys.executable, "-c", probe], guarded_env(log, "loopback"))
    assert done.stdout.count("refused: netguard") == 2 and "loopback ok" in done.stdout, \
        done.stderr
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(r["kind"], r["address"]) for r in rows] == [
        ("connection", ["192.0.2.1", 443]), ("name lookup", ["huggingface.co", 443])]


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
             f"print(json.dumps({{k: os.environ.get(k) for k in {sorted(REQUIRED)!r}}}))")
    done = run([sys.executable, "-c", probe], guarded_env(tmp_path / "refused.jsonl", ""))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == REQUIRED
    assert {k: OFFLINE_SWITCHES.get(k) for k in REQUIRED} == REQUIRED


@pytest.mark.parametrize("package", PACKAGES)
def test_importing_any_package_sets_the_switches_before_anything_else(
        package: str, tmp_path: Path) -> None:
    """Python runs a package's __init__ before any of its modules, so a package that sets
    the switches first covers every entry point under it (`python -m cotpd.pipeline.cli`, the
    `cotpd` script, `python -m cotpd.caption.lavis_worker`, the vLLM engine in teacher/)."""
    imports = tmp_path / "imports.jsonl"
    probe = (f"import json, os, sys\nimport cotpd.{package}\n"
             f"print(json.dumps({{k: os.environ.get(k) for k in {sorted(REQUIRED)!r}}}))")
    done = run([sys.executable, "-c", probe],
               guarded_env(tmp_path / "refused.jsonl", "", imports))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == REQUIRED
    assert_switches_before_every_import(imports)


def first_line(tree: ast.Module, roots: tuple[str, ...]) -> int | None:
    lines = []
    for node in ast.walk(tree):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
            [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
        if any(name.split(".")[0] in roots for name in names):
            lines.append(node.lineno)
    return min(lines) if lines else None


# Entry points only: a shared helper module (benchmarks/timing.py) runs under a script that
# has already imported the project.
@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "benchmarks").glob("*.py")
                                          if '__name__ == "__main__"' in p.read_text()))
def test_each_benchmark_imports_the_project_before_a_model_library(script: str) -> None:
    tree = ast.parse((REPO / "benchmarks" / script).read_text(encoding="utf-8"))
    project, library = first_line(tree, ("cotpd",)), first_line(tree, MODEL_LIBRARIES)
    assert project is not None, f"{script} never imports the project"
    assert library is None or project < library, (script, project, library)


def backend_params() -> list:
    vllm_absent = importlib.util.find_spec("vllm") is None
    return [pytest.param("transformers", id="transformers"),
            pytest.param("embedded", id="embedded", marks=pytest.mark.slow),
            pytest.param("vllm", id="vllm", marks=[
                pytest.mark.vllm, pytest.mark.slow,
                pytest.mark.skipif(vllm_absent, reason="vLLM does not import here")])]


@pytest.mark.parametrize("backend", backend_params())
def test_cotpd_run_with_every_stage_and_an_in_process_teacher_stays_offline(
        backend: str, tmp_path: Path, tiny_encoder: Path, tiny_blip2: Path,
        tiny_teacher: Path) -> None:
    refused, imports, out = tmp_path / "refused.jsonl", tmp_path / "imports.jsonl", tmp_path
    teacher = {"transformers": ["--set", "teacher.backend=transformers",
                                "--set", f"teacher.model={tiny_teacher}"],
               "embedded": ["--set", "teacher.backend=embedded"],
               "vllm": ["--set", "teacher.backend=vllm"]}[backend]
    args = ["run", DEMO_CONFIG, "--set", f"run.output_dir={out}",
            "--set", "caption.backend=transformers", "--set", f"caption.model={tiny_blip2}",
            "--set", "caption.max_new_tokens=3", *teacher,
            "--set", "teacher.sampling.max_tokens=4", "--set", "teacher.batch_size=16",
            "--set", "augment.times.style=1", "--set", "augment.times.entity=1",
            "--set", "augment.times.image=1", "--set", "augment.sources=8",
            "--set", f"student.encoder={tiny_encoder}", "--set", "student.train.max_steps=4",
            "--set", "student.train.eval_steps=4"]
    # the installed `cotpd` script, as a user starts it (loopback: in-process engines' IPC)
    script = Path(sys.executable).with_name("cotpd")
    command = [str(script), *map(str, args)] if script.is_file() else cotpd_command(*args)
    done = run(command, guarded_env(refused, "loopback", imports))
    assert done.returncode == 0, done.stderr[-3000:]
    assert not refused.exists(), refused.read_text()  # nothing even tried to reach out

    assert_switches_before_every_import(imports)
    loaded = {row["module"] for row in imports_seen(imports)}
    assert {"torch", "transformers", "huggingface_hub"} <= loaded
    if backend == "vllm":
        assert "vllm" in loaded
    run_dir = out / "demo_mner"
    captions = [json.loads(line) for line in (run_dir / "captions" / "captions.jsonl")
                .read_text().splitlines()]
    assert len(captions) == DEMO_SAMPLES and {c["status"] for c in captions} == {"ok"}
    teach = json.loads((run_dir / "teacher" / "summary.json").read_text())
    assert teach["backend"] == backend and teach["samples"] == DEMO_SAMPLES
    assert all(p["failed"] == 0 and p["answered"] + p["truncated"] == DEMO_SAMPLES
               for p in teach["prompts"].values())
    augment = json.loads((run_dir / "augment" / "summary.json").read_text())
    assert augment["sources"] == 8
    assert {t: augment["types"][t]["asked"] for t in ("style", "entity", "image")} \
        == {"style": 8, "entity": 8, "image": 8}
    report = json.loads((run_dir / "student" / "train_report.json").read_text())
    assert report["steps"] == 4
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["splits"]) == {"dev", "test"}
