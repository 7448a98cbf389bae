"""The knowledge store keeps every finished answer, even across a SIGKILL, and never lets a
failed retry erase an answer."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cotpd.corpus.errors import CotpdError
from cotpd.teacher.backend import GenerationResult
from cotpd.teacher.store import KnowledgeStore, StoredRow

REPO = Path(__file__).resolve().parents[2]
FP, PID, PH = "fp-a", "cot_ner", "h1"


def ok(text: str, latency: float = 0.5) -> GenerationResult:
    return GenerationResult(text, "stop", 10, 5, latency)


def fail(why: str = "timeout") -> GenerationResult:
    return GenerationResult(latency_s=1.0, error=why)


@pytest.fixture
def store(tmp_path: Path):
    with KnowledgeStore(tmp_path / "deep" / "dir" / "knowledge.sqlite") as s:
        s.register_teacher(FP, "qwen-a", {"model": "/m/qwen", "temperature": 0.0})
        yield s


def test_round_trip_unicode(store: KnowledgeStore) -> None:
    text = "Ünïcödé → 北京 🚀\nline two\ttab \x00 nul"
    store.put(FP, PID, PH, "s1", GenerationResult(text, "length", 12, 34, 1.25))
    row = store.get(FP, PID, PH, "s1")
    assert isinstance(row, StoredRow) and row.ok and row.created > 0
    assert row == StoredRow(FP, PID, PH, "s1", text, "length", 12, 34, 1.25, row.created, None)
    assert store.get(FP, PID, PH, "missing") is None
    assert store.texts(FP, PID, PH) == {"s1": text}


def test_answered_and_failed_keys(store: KnowledgeStore) -> None:
    store.put_many(
        [(FP, PID, PH, "a", ok("x")), (FP, PID, PH, "b", fail()), (FP, PID, PH, "c", ok("y"))]
    )
    assert store.answered_keys(FP, PID, PH) == {"a", "c"}
    assert store.failed_keys(FP, PID, PH) == {"b"}
    assert store.texts(FP, PID, PH) == {"a": "x", "c": "y"}


def test_success_never_overwritten_by_failure(store: KnowledgeStore) -> None:
    store.put(FP, PID, PH, "k", ok("the answer"))
    store.put(FP, PID, PH, "k", fail("retry timed out"))
    store.put_many([(FP, PID, PH, "k", fail("bulk failure"))])
    row = store.get(FP, PID, PH, "k")
    assert row is not None and row.ok and row.text == "the answer"
    assert store.failed_keys(FP, PID, PH) == set()


def test_failure_replaced_by_failure_then_success(store: KnowledgeStore) -> None:
    store.put(FP, PID, PH, "k", fail("first"))
    store.put(FP, PID, PH, "k", fail("second"))
    assert store.get(FP, PID, PH, "k").error == "second"  # type: ignore[union-attr]
    store.put(FP, PID, PH, "k", ok("finally"))
    row = store.get(FP, PID, PH, "k")
    assert row is not None and row.ok and row.text == "finally"
    assert store.answered_keys(FP, PID, PH) == {"k"} and store.failed_keys(FP, PID, PH) == set()


def test_teachers_and_prompt_hashes_kept_apart(store: KnowledgeStore) -> None:
    store.register_teacher("fp-b", "llama-b", {"model": "/m/llama"})
    store.register_teacher("fp-b", "another-name", {})
    store.put(FP, PID, PH, "k", ok("a-h1"))
    store.put(FP, PID, "h2", "k", ok("a-h2"))
    store.put("fp-b", PID, PH, "k", ok("b-h1"))
    store.put(FP, "other_prompt", PH, "k", fail())
    assert store.texts(FP, PID, PH) == {"k": "a-h1"}
    assert store.texts(FP, PID, "h2") == {"k": "a-h2"}
    assert store.texts("fp-b", PID, PH) == {"k": "b-h1"}
    assert store.answered_keys(FP, "other_prompt", PH) == set()
    names = {t["fingerprint"]: t["name"] for t in store.teachers()}
    assert names == {FP: "qwen-a", "fp-b": "llama-b"}
    assert store.teachers()[0]["details"] == {"model": "/m/qwen", "temperature": 0.0}


def test_summary_counts(store: KnowledgeStore) -> None:
    store.put_many(
        [
            (FP, PID, PH, "a", ok("x", 1.0)),
            (FP, PID, PH, "b", ok("y", 3.0)),
            (FP, PID, PH, "c", fail()),
            ("fp-b", PID, PH, "a", ok("z")),
        ]
    )
    rows = store.summary(FP)
    key = {"teacher_name": "qwen-a", "teacher": FP, "prompt_id": PID, "prompt_hash": PH}
    counts = {"answered": 2, "truncated": 0, "failed": 1, "prompt_tokens": 20,
              "completion_tokens": 10}
    assert rows == [key | counts | {"mean_latency_s": 2.0}]
    assert store.summary("qwen-a") == rows  # by name too
    every = store.summary()
    assert len(every) == 2 and {r["teacher"] for r in every} == {FP, "fp-b"}
    assert next(r for r in every if r["teacher"] == "fp-b")["teacher_name"] is None


def test_failure_reasons_are_counted_per_prompt_version(store: KnowledgeStore) -> None:
    store.put_many([
        (FP, PID, PH, "a", fail("timeout after 5 retries")),
        (FP, PID, PH, "b", fail("timeout after 5 retries")),
        (FP, PID, PH, "c", fail("context_length: This model's maximum context length is 2048")),
        (FP, PID, PH, "d", ok("fine")),
        (FP, PID, "h2", "a", fail("http 404: no such model")),
    ])
    assert store.failure_reasons(FP, PID, PH) == {"timeout after 5 retries": 2,
                                                  "context_length": 1}
    assert store.failure_reasons(FP, PID, "h2") == {"http 404": 1}
    assert store.failure_reasons("fp-b", PID, PH) == {}


def test_export_jsonl(store: KnowledgeStore, tmp_path: Path) -> None:
    store.put_many(
        [
            (FP, PID, PH, "a", ok("é")),
            (FP, PID, PH, "b", fail("boom")),
            ("fp-b", PID, PH, "a", ok("z")),
        ]
    )
    out = tmp_path / "exp" / "knowledge.jsonl"
    assert store.export_jsonl(out) == 3
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 3
    first = records[0]
    assert first["teacher"] == FP and first["teacher_name"] == "qwen-a"
    assert first["sample_key"] == "a" and first["text"] == "é" and first["error"] is None
    assert set(first) >= {
        "prompt_id",
        "prompt_hash",
        "finish_reason",
        "prompt_tokens",
        "completion_tokens",
        "latency_s",
        "created",
    }
    assert records[1]["error"] == "boom"
    assert store.export_jsonl(out, teacher=FP) == 2  # replaces the file
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
    assert [p.name for p in out.parent.iterdir()] == ["knowledge.jsonl"]  # no temp left


def test_sql_in_text_is_data(store: KnowledgeStore) -> None:
    nasty = "x'); DROP TABLE answers; DROP TABLE teachers; --"
    store.put(FP, PID, PH, nasty, ok(nasty))
    store.register_teacher(nasty, nasty, {nasty: nasty})
    assert store.get(FP, PID, PH, nasty).text == nasty  # type: ignore[union-attr]
    assert store.answered_keys(FP, PID, PH) == {nasty}
    assert nasty in {t["name"] for t in store.teachers()}


def test_puts_from_many_threads(store: KnowledgeStore) -> None:
    """Backends call back from worker threads; one shared store must take them all."""

    def work(t: int) -> None:
        for i in range(25):
            store.put(FP, PID, PH, f"{t}-{i}", ok(f"{t}/{i}"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert len(store.answered_keys(FP, PID, PH)) == 200


def test_wal_mode_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite"
    with KnowledgeStore(path) as s:
        s.put(FP, PID, PH, "k", ok("kept"))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with KnowledgeStore(path) as s:
        assert s.texts(FP, PID, PH) == {"k": "kept"}


def test_newer_schema_and_non_database_are_user_errors(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite"
    KnowledgeStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(CotpdError, match="k.sqlite.*99"):
        KnowledgeStore(path)
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(CotpdError, match="junk.sqlite"):
        KnowledgeStore(junk)


CHILD = """
import sys, time
from cotpd.teacher.backend import GenerationResult
from cotpd.teacher.store import KnowledgeStore
store = KnowledgeStore(sys.argv[1])
store.register_teacher("fp-kill", "victim", {})
for i in range(int(sys.argv[2])):
    store.put("fp-kill", "p", "h", str(i), GenerationResult("answer %d" % i, "stop", 3, 4, 0.01))
    print(i, flush=True)
    time.sleep(0.004)
"""


@pytest.mark.parametrize("kill_after", [30, 90, 170])
def test_sigkill_loses_nothing_committed(tmp_path: Path, kill_after: int) -> None:
    n = 300
    path = tmp_path / "kill.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(n)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    printed: list[int] = []
    try:
        assert child.stdout is not None
        while len(printed) < kill_after:
            line = child.stdout.readline()
            assert line, f"child ended early: {child.stderr.read() if child.stderr else ''}"
            printed.append(int(line))
        child.send_signal(signal.SIGKILL)
        rest, _ = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    printed += [int(x) for x in rest.split()]
    assert len(printed) < n  # it really died mid-run

    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with KnowledgeStore(path) as store:
        done = store.answered_keys("fp-kill", "p", "h")
        assert {str(i) for i in printed} <= done
        for i in range(n):  # resume as a runner would: only what is missing
            if str(i) not in done:
                store.put("fp-kill", "p", "h", str(i), GenerationResult(f"answer {i}"))
        assert store.texts("fp-kill", "p", "h") == {str(i): f"answer {i}" for i in range(n)}
    with sqlite3.connect(path) as db:
        sql = "SELECT COUNT(*), COUNT(DISTINCT sample_key) FROM answers"
        total, distinct = db.execute(sql).fetchone()
        assert (total, distinct) == (n, n)
