"""Text from the LLM is only ever data: hostile answers (SQL, format fields, shell, quotes,
markup) go through the store, the summarize prompt (they are formatted into it) and the
knowledge file, and come out exactly as written; the store's tables survive."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cotpd.teacher.backend import GenerationResult
from cotpd.teacher.store import KnowledgeStore
from harness import DEMO_SAMPLES, teach_args

from tests.fake_openai_server import HOSTILE, FakeOpenAIServer


def test_hostile_answers_round_trip_through_teach(tmp_path: Path, cotpd) -> None:
    teacher = tmp_path / "demo_mner" / "teacher"
    with FakeOpenAIServer(default="hostile") as server:
        result = cotpd(*teach_args(tmp_path, server.url, prompts="[noun]"))
        assert result.exit_code == 0, result.err[-2000:]
        lines = (teacher / "knowledge.jsonl").read_text(encoding="utf-8").splitlines()
        # Over a tiny budget, the hostile knowledge is formatted into the summarize prompt.
        summarized = cotpd(*teach_args(tmp_path, server.url, "--set",
                                       "teacher.knowledge.budget_tokens=8", prompts="[noun]"))
        assert summarized.exit_code == 0, summarized.err[-2000:]
        summarize_prompts = [r["body"]["prompt"] for r in server.requests
                             if "Short summary:" in r["body"]["prompt"]]
    assert [json.loads(line)["knowledge"] for line in lines] == \
        [f"[Words] {HOSTILE.strip()}"] * DEMO_SAMPLES
    with sqlite3.connect(teacher / "store.sqlite") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        texts = db.execute("SELECT text FROM answers").fetchall()
    assert {"answers", "teachers"} <= tables
    # Every sample's knowledge is the same text, so its summary is asked once, for all.
    assert len(texts) == DEMO_SAMPLES + 1 and all(text == HOSTILE for (text,) in texts)
    assert len(summarize_prompts) == 1
    assert all(f"Explanation: [Words] {HOSTILE.strip()}\nShort summary:" in p
               for p in summarize_prompts)


def test_hostile_keys_and_texts_round_trip_through_the_store(tmp_path: Path) -> None:
    hostile = ["'); DROP TABLE answers; --", "{0.__class__}", "%s%s%s", "a\x00b", "\"';--",
               "x' OR '1'='1", HOSTILE]
    with KnowledgeStore(tmp_path / "store.sqlite") as store:
        for text in hostile:  # as teacher, prompt, hash, key and text at once
            store.register_teacher(text, text, {"details": text})
            store.put(text, text, text, text, GenerationResult(text=text, finish_reason=text))
        for text in hostile:
            row = store.get(text, text, text, text)
            assert row is not None and (row.text, row.finish_reason) == (text, text)
            assert store.texts(text, text, text) == {text: text}
        assert [t["name"] for t in store.teachers()] == hostile
        store.export_jsonl(tmp_path / "out.jsonl")
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sorted(r["text"] for r in exported) == sorted(hostile)
