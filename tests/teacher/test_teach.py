"""The teach stage end to end against a real local OpenAI-compatible server process thread:
store rows, knowledge file, skipping, --retry-failed, summaries, a SIGKILL mid-run, and the
student training on what the teacher wrote."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fake_openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "demo_mner.yaml"
DEMO_SAMPLES = 150  # 90 + 30 + 30


def teach_args(tmp_path: Path, url: str, *extra: str) -> list[str]:
    return ["teach", str(CONFIG), "--set", f"run.output_dir={tmp_path}",
            "--set", "teacher.backend=openai", "--set", "teacher.name=fake",
            "--set", f"teacher.openai.base_urls=[{url}]", "--set", "teacher.openai.model=fake",
            "--set", "teacher.openai.max_retries=0", "--set", "teacher.openai.timeout_s=10",
            "--set", "teacher.knowledge.prompts=[noun,sentence,multimodal]", *extra]


def store_rows(tmp_path: Path) -> list[tuple]:
    with sqlite3.connect(tmp_path / "demo_mner" / "teacher" / "store.sqlite") as db:
        return db.execute("SELECT prompt_id, sample_key, error FROM answers").fetchall()


def _rows_so_far(tmp_path: Path) -> int:
    """Rows written by a running teach; its store file exists a moment before its table."""
    try:
        return len(store_rows(tmp_path))
    except sqlite3.OperationalError as error:
        if "no such table" not in str(error):
            raise
        return 0


@pytest.fixture
def server():
    with FakeOpenAIServer() as running:
        yield running


def test_teach_fills_the_store_and_writes_knowledge(tmp_path: Path, server, cotpd) -> None:
    result = cotpd(*teach_args(tmp_path, server.url))
    assert result.exit_code == 0, result.err[-2000:]
    rows = store_rows(tmp_path)
    assert len(rows) == 3 * DEMO_SAMPLES and all(error is None for *_, error in rows)
    assert {prompt for prompt, *_ in rows} == {"noun", "sentence", "multimodal"}
    lines = (tmp_path / "demo_mner" / "teacher" / "knowledge.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == DEMO_SAMPLES and first["knowledge"].startswith("[Words] answer to")
    summary = json.loads((tmp_path / "demo_mner" / "teacher" / "summary.json").read_text())
    assert summary["answered"] == 3 * DEMO_SAMPLES and summary["failed"] == 0
    assert summary["completion_tokens"] > 0
    body = server.requests[0]["body"]
    assert body["temperature"] == 0 and "Special words explained" in body["prompt"]
    asked = len(server.requests)
    again = cotpd(*teach_args(tmp_path, server.url))
    assert again.exit_code == 0 and "450 already in the store" in again.out
    assert len(server.requests) == asked  # a re-run asks nothing


def test_failures_are_recorded_and_retried_on_request(tmp_path: Path, server, cotpd) -> None:
    server.push(*["context"] * 5)
    first = cotpd(*teach_args(tmp_path, server.url, "--set", "teacher.knowledge.prompts=[noun]"))
    assert first.exit_code == 0 and "--retry-failed" in first.err
    failed = [row for row in store_rows(tmp_path) if row[2]]
    assert len(failed) == 5 and all(row[2].startswith("context_length") for row in failed)
    plain = cotpd(*teach_args(tmp_path, server.url, "--set", "teacher.knowledge.prompts=[noun]"))
    assert len([row for row in store_rows(tmp_path) if row[2]]) == 5 and plain.exit_code == 0
    retried = cotpd(*teach_args(tmp_path, server.url, "--set", "teacher.knowledge.prompts=[noun]"),
                    "--retry-failed")
    assert retried.exit_code == 0
    rows = store_rows(tmp_path)
    assert len(rows) == DEMO_SAMPLES and not [row for row in rows if row[2]]


def test_over_budget_knowledge_is_summarized_then_truncated(tmp_path: Path, server,
                                                             cotpd) -> None:
    result = cotpd(*teach_args(tmp_path, server.url, "--set", "teacher.knowledge.budget_tokens=12"))
    assert result.exit_code == 0, result.err[-2000:]
    summary = json.loads((tmp_path / "demo_mner" / "teacher" / "summary.json").read_text())
    counts = summary["knowledge"]
    assert counts.get("summarized", 0) + counts.get("truncated", 0) == DEMO_SAMPLES
    # Samples whose long knowledge is the same text share one summary (asked once).
    summarized = summary["prompts"]["summarize"]
    assert summarized["answered"] + summarized["shared"] == DEMO_SAMPLES
    assert any(prompt == "summarize" for prompt, *_ in store_rows(tmp_path))


def test_a_killed_teach_resumes_to_exactly_one_row_per_sample_and_prompt(tmp_path: Path,
                                                                          server) -> None:
    server.push(*["slow:0.02"] * 2000)
    command = [sys.executable, "-m", "cotpd.pipeline.cli",
               *teach_args(tmp_path, server.url, "--set", "teacher.openai.concurrency=4")]
    store = tmp_path / "demo_mner" / "teacher" / "store.sqlite"
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env={**os.environ})
    deadline = time.time() + 120
    while time.time() < deadline:
        if store.is_file() and _rows_so_far(tmp_path) >= 60:
            break
        time.sleep(0.1)
    child.send_signal(signal.SIGKILL)
    child.wait()
    killed_at = len(store_rows(tmp_path))
    assert 60 <= killed_at < 3 * DEMO_SAMPLES
    finish = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr[-2000:]
    rows = store_rows(tmp_path)
    assert len(rows) == 3 * DEMO_SAMPLES
    assert len({(prompt, key) for prompt, key, _ in rows}) == 3 * DEMO_SAMPLES
    with sqlite3.connect(store) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_student_trains_on_what_the_teacher_wrote(tmp_path: Path, server, tiny_encoder: Path,
                                                     cotpd) -> None:
    assert cotpd(*teach_args(tmp_path, server.url)).exit_code == 0
    result = cotpd("train", str(CONFIG), "--set", f"run.output_dir={tmp_path}",
                   "--set", f"student.encoder={tiny_encoder}",
                   "--set", "student.views.context_order=[knowledge]",
                   "--set", "student.train.max_steps=2", "--set", "student.train.eval_steps=2",
                   "--set", "student.train.batch_size=8")
    assert result.exit_code == 0, result.err[-2000:]
    report = json.loads((tmp_path / "demo_mner" / "student" / "train_report.json").read_text())
    assert report["context"]["train"]["with_knowledge"] == 90


def test_one_answer_per_prompt_content_across_instances_and_datasets(tmp_path: Path, server,
                                                                     cotpd) -> None:
    # demo_mnre: 150 instances over 130 sentences (entity pairs of one tweet share it).
    store = tmp_path / "store.sqlite"
    common = ["--set", f"run.output_dir={tmp_path}", "--set", "teacher.backend=openai",
              "--set", "teacher.name=fake", "--set", f"teacher.openai.base_urls=[{server.url}]",
              "--set", "teacher.openai.model=fake", "--set", f"teacher.store={store}",
              "--set", "teacher.knowledge.prompts=[noun,sentence]"]
    relations = cotpd("teach", str(REPO / "configs" / "demo_mnre.yaml"), *common)
    assert relations.exit_code == 0, relations.err[-2000:]
    summary = json.loads((tmp_path / "demo_mnre" / "teacher" / "summary.json").read_text())
    assert summary["answered"] == 2 * 130 and summary["shared"] == 2 * 20
    assert len(server.requests) == 2 * 130
    lines = (tmp_path / "demo_mnre" / "teacher" / "knowledge.jsonl").read_text().splitlines()
    assert len(lines) == 150  # every instance gets its tweet's knowledge
    # Answers are stored by content; the run's answers file ties them to its instances, so
    # the per-prompt quality counts every instance (and names the fake server's words).
    from cotpd.eval.knowledge_quality import run_knowledge_quality
    from cotpd.teacher.store import KnowledgeStore

    answers = (tmp_path / "demo_mnre" / "teacher" / "answers.jsonl").read_text().splitlines()
    assert len(answers) == 2 * 150 and {json.loads(a)["prompt"] for a in answers} == {
        "noun", "sentence"}
    quality = run_knowledge_quality(tmp_path / "demo_mnre", "demo_mnre", KnowledgeStore)
    assert [p["with_knowledge"] for p in quality["prompts"]] == [150, 150]
    assert all(p["words_mean"] > 0 for p in quality["prompts"])
    # The same tweets as unlabelled sentences of an MNER run: found in the store by content.
    from cotpd.corpus.mnre import read_mnre

    tweets = {" ".join(s.tokens): None for s in
              read_mnre(REPO / "data" / "demo_mnre" / "train.txt").samples}
    text = tmp_path / "tweets.txt"
    text.write_text("\n".join(list(tweets)[:5]) + "\n")
    entities = cotpd("teach", str(CONFIG), *common, "--set", f"data.unlabelled=[{text}]")
    assert entities.exit_code == 0, entities.err[-2000:]
    summary = json.loads((tmp_path / "demo_mner" / "teacher" / "summary.json").read_text())
    # The 5 tweets, and 3 demo MNER sentences that are demo MNRE tweets too, are not asked.
    assert summary["prompts"]["noun"]["skipped"] == 5 + 3
    assert summary["asked"] == 2 * (150 - 3)
