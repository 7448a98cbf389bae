"""The teach stage against a fake vLLM in its own process that fails in every way we know of,
is SIGKILLed mid-run and started again: every sample ends answered or failed with its reason,
nothing hangs, and `--retry-failed` completes the failures once the server is healthy."""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from harness import (
    DEMO_SAMPLES,
    REPO,
    ServerProcess,
    assert_sqlite_intact,
    cotpd_command,
    run_cotpd,
    store_rows,
    teach_args,
)

# One of each fault, in the order the first requests meet them. Retried: 500, 503, 429
# (Retry-After 0.6 s), slow (past the 1 s timeout), drop, truncated. Not retried: context
# (a 400), malformed JSON, an empty completion.
# Three plain answers after each fault, so one sample rarely meets two faults in a row.
FAULTS = tuple(b for fault in ("500", "429:0.6", "slow:4", "empty", "truncated", "drop",
                               "context", "503", "malformed") for b in (fault, "ok", "ok", "ok"))
SETTINGS = ("--set", "teacher.openai.timeout_s=1", "--set", "teacher.openai.max_retries=3",
            "--set", "teacher.openai.concurrency=4")


def wait_for(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def asked_again(seen: list[dict], fault: str) -> bool:
    """Whether the prompt that met `fault` was asked again later."""
    cut = next((r for r in seen if r["behaviour"] == fault), None)
    return cut is not None and any(r["prompt"] == cut["prompt"] and r["t"] > cut["t"]
                                   for r in seen)


def test_faults_and_a_server_crash_end_answered_or_failed_with_reason(tmp_path: Path) -> None:
    out = tmp_path / "run"
    store = out / "demo_mner" / "teacher" / "store.sqlite"
    with ServerProcess(tmp_path / "requests.jsonl", default="slow:0.05", script=FAULTS) as server:
        child = subprocess.Popen(cotpd_command(*teach_args(out, server.url, *SETTINGS)),
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
        # The crash comes after the slow request's retry: a retry that met the dead server
        # would fail its row, and the retry checks below could not see it.
        wait_for(lambda: len(server.requests()) >= 60 and asked_again(server.requests(), "slow:4"),
                 120)
        server.kill()  # mid-run: four requests in flight are cut, new ones refused
        time.sleep(1.5)
        server.start()
        _, err = child.communicate(timeout=180)  # never a hang
        assert child.returncode == 0, err[-2000:]
        assert "--retry-failed" in err

        rows = store_rows(store)
        assert len(rows) == DEMO_SAMPLES  # every sample has its row: answered or failed
        reasons = Counter((error or "ok").split(":")[0].split(" (")[0] for _, _, error in rows)
        assert reasons["context_length"] == 1  # vLLM's 400: not retried, reason kept
        assert reasons["malformed response"] == 1
        assert reasons["empty completion"] == 1
        assert set(reasons) <= {"ok", "context_length", "malformed response",
                                "empty completion", "connection error after 3 retries"}
        seen = server.requests()
        assert Counter(r["behaviour"] for r in seen)["429:0.6"] == 1
        limited = next(r for r in seen if r["behaviour"] == "429:0.6")
        again = next(r for r in seen if r["prompt"] == limited["prompt"] and r["t"] > limited["t"])
        assert again["t"] - limited["t"] >= 0.6  # Retry-After honoured
        for fault in ("500", "503", "slow:4", "truncated", "drop"):  # retried and answered
            assert asked_again(seen, fault), fault
        assert_sqlite_intact(store)
        summary = json.loads((out / "demo_mner" / "teacher" / "summary.json").read_text())
        assert summary["answered"] + summary["failed"] == DEMO_SAMPLES

        retried = run_cotpd(*teach_args(out, server.url, *SETTINGS), "--retry-failed")
    assert retried.returncode == 0, retried.stderr[-2000:]
    rows = store_rows(store)
    assert len(rows) == DEMO_SAMPLES and all(error is None for *_, error in rows)
    lines = (out / "demo_mner" / "teacher" / "knowledge.jsonl").read_text().splitlines()
    assert len(lines) == DEMO_SAMPLES


@pytest.mark.slow
def test_a_server_down_for_the_whole_run_fails_every_row_with_its_reason(tmp_path: Path) -> None:
    """No server at all: the run stops before asking, in one line, storing nothing. A server
    that lists its model but drops every completion: every row fails with its reason, and
    `--retry-failed` completes them once it is healthy."""
    out = tmp_path / "run"
    server = ServerProcess(tmp_path / "requests.jsonl")  # not started: connections refused
    absent = run_cotpd(*teach_args(out, server.url), timeout_s=300)
    assert absent.returncode == 2
    assert [line for line in absent.stderr.splitlines() if line.strip()] == [
        f"error: no teacher server answers at {server.url} (teacher.openai.base_urls); start "
        "one with `bash scripts/serve_teacher.sh` (or scripts/slurm/serve_teacher.sbatch)"]
    assert store_rows(out / "demo_mner" / "teacher" / "store.sqlite") == []
    dropping = ServerProcess(tmp_path / "dropped.jsonl", default="drop")
    with dropping:
        down = run_cotpd(*teach_args(out, dropping.url, "--set", "teacher.openai.max_retries=1"),
                         timeout_s=300)
    assert down.returncode == 0, down.stderr[-2000:]
    rows = store_rows(out / "demo_mner" / "teacher" / "store.sqlite")
    assert len(rows) == DEMO_SAMPLES
    assert {error for *_, error in rows} == {"connection error after 1 retries"}
    with server:
        healed = run_cotpd(*teach_args(out, server.url), "--retry-failed")
    assert healed.returncode == 0, healed.stderr[-2000:]
    assert "150 answered, 0 failed" in healed.stdout


def test_a_missing_image_fails_its_row_not_the_run(tmp_path: Path) -> None:
    """A vision-language teacher gets the image itself: one missing file is one failed row
    with its reason, and the other samples are asked."""
    from cotpd.corpus.records import MnerSample
    from cotpd.teacher.catalogue import load_catalogue
    from cotpd.teacher.config import OpenAIServerConfig
    from cotpd.teacher.openai_backend import OpenAIBackend
    from cotpd.teacher.runner import Teacher, run_prompt
    from cotpd.teacher.store import KnowledgeStore
    from fake_openai_server import FakeOpenAIServer

    (tmp_path / "here.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    samples = [MnerSample(id=name, tokens=["Obama", "speaks"], labels=["B-PER", "O"],
                          image_id=name) for name in ("here", "gone")]
    prompt = load_catalogue()["multimodal"]
    with FakeOpenAIServer(served_model="vl") as server, \
            KnowledgeStore(tmp_path / "store.sqlite") as store:
        backend = OpenAIBackend(OpenAIServerConfig(base_urls=[server.url]), "vl", chat=True)
        teacher = Teacher(backend, "vl", "chat", image_input="image", images_dir=tmp_path)
        counts = run_prompt(samples, prompt, teacher, store)
        version = prompt.version_hash("chat")
        gone = store.get("vl", "multimodal", version, "gone")
        assert (counts.answered, counts.failed) == (1, 1)
        assert gone is not None and gone.error.startswith("image unreadable: No such file")
        assert len(server.requests) == 1  # the bytes of the other image went as data
        part = server.requests[0]["body"]["messages"][0]["content"][1]
        assert part["image_url"]["url"].startswith("data:image/jpeg;base64,")
