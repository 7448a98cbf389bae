"""Answers the teacher cut off at max_tokens (`finish_reason: "length"`) are recorded as
truncated: kept in the store, counted in the summaries and the knowledge-quality table, kept
in or dropped from the knowledge by a config switch, and asked again with more tokens by
`--retry-failed`."""

import json
from pathlib import Path

from cotpd.eval.knowledge_quality import knowledge_quality
from cotpd.eval.study_table import format_quality
from cotpd.teacher.store import KnowledgeStore

from tests.fake_openai_server import FakeOpenAIServer

REPO = Path(__file__).resolve().parents[2]
DEMO_SAMPLES = 150


def teach_args(tmp_path: Path, url: str, *extra: str) -> list[str]:
    return ["teach", str(REPO / "configs" / "demo_mner.yaml"), "--set",
            f"run.output_dir={tmp_path}", "--set", "teacher.backend=openai",
            "--set", "teacher.name=fake", "--set", f"teacher.openai.base_urls=[{url}]",
            "--set", "teacher.openai.model=fake", "--set", "teacher.openai.max_retries=0",
            "--set", "teacher.openai.concurrency=1", "--set", "teacher.knowledge.prompts=[noun]",
            *extra]


def knowledge_ids(tmp_path: Path) -> list[str]:
    path = tmp_path / "demo_mner" / "teacher" / "knowledge.jsonl"
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def store_summary(tmp_path: Path) -> dict:
    with KnowledgeStore(tmp_path / "demo_mner" / "teacher" / "store.sqlite") as store:
        [row] = store.summary()
    return row


def test_cut_off_answers_are_kept_counted_switchable_and_retried_with_more_tokens(
        tmp_path: Path, cotpd) -> None:
    with FakeOpenAIServer(["length", "length"]) as server:
        first = cotpd(*teach_args(tmp_path, server.url))
        assert first.exit_code == 0, first.err[-2000:]
        assert "148 answered, 0 failed, 2 truncated (cut off at max_tokens)" in first.out
        assert "--retry-failed" in first.err
        summary = json.loads((tmp_path / "demo_mner" / "teacher" / "summary.json").read_text())
        assert (summary["answered"], summary["truncated"], summary["failed"]) == (148, 2, 0)
        row = store_summary(tmp_path)
        assert (row["answered"], row["truncated"], row["failed"]) == (148, 2, 0)
        cut = [r["body"] for r in server.requests[:2]]
        cut_ids = knowledge_ids(tmp_path)[:2]
        assert len(knowledge_ids(tmp_path)) == DEMO_SAMPLES  # kept by default

        asked = len(server.requests)
        dropped = cotpd(*teach_args(tmp_path, server.url,
                                    "--set", "teacher.knowledge.truncated_answers=drop"))
        assert dropped.exit_code == 0 and len(server.requests) == asked  # nothing asked
        assert "150 already in the store" in dropped.out
        kept = knowledge_ids(tmp_path)
        assert len(kept) == DEMO_SAMPLES - 2 and not set(cut_ids) & set(kept)

        retried = cotpd(*teach_args(tmp_path, server.url), "--retry-failed")
        assert retried.exit_code == 0, retried.err[-2000:]
        again = [r["body"] for r in server.requests[asked:]]
    assert [b["prompt"] for b in again] == [b["prompt"] for b in cut]
    assert all(b["max_tokens"] == 2 * c["max_tokens"] for b, c in zip(again, cut, strict=True))
    assert "2 answered, 0 failed, 0 truncated" in retried.out
    row = store_summary(tmp_path)
    assert (row["answered"], row["truncated"], row["failed"]) == (150, 0, 0)
    assert len(knowledge_ids(tmp_path)) == DEMO_SAMPLES


def test_the_knowledge_quality_table_counts_truncated_answers() -> None:
    rows = [{"answered": 6, "truncated": 2, "failed": 2, "prompt_tokens": 10,
             "completion_tokens": 5}]
    quality = knowledge_quality([], rows)
    assert (quality["answers"], quality["truncated"], quality["failures"]) == (6, 2, 2)
    assert quality["truncated_rate"] == 0.2 and quality["failure_rate"] == 0.2
    table = format_quality([quality | {"teacher": "t", "fingerprint": "f", "dataset": "d"}])
    header, _, line = table.splitlines()
    assert "| truncated | failure rate |" in header and "| 20.0% | 20.0% |" in line
