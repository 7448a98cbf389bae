"""The bad-input corpus (tests/data/bad_inputs/) through every command that reads it: each
case exits 2 with one `error:` line naming the file (and line) and what is wrong (a config
error adds one indented line per wrong key: `lines` in expected.yaml), or is handled (exit 0)
with what it counted; never a traceback. The `cotpd data stats` cases without a `run` key
are run by tests/pipeline/test_bad_inputs.py; this file runs the rest and counts them all."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from harness import DEMO_CONFIG

BAD = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
ALL = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
CASES = {name: case for name, case in ALL.items() if "run" in case}
TO_NOWHERE = "teacher.openai.base_urls=[http://127.0.0.1:9/v1]"  # never asked: fails first
RUNS = {
    "stats_json": ["data", "stats", "{file}", "--json"],
    "stats_missing": ["data", "stats", "{file}"],
    "prepare": ["data", "prepare", "{file}", "--set", "run.output_dir={tmp}"],
    "train": ["train", "{file}", "--set", "run.output_dir={tmp}"],
    "knowledge": ["train", str(DEMO_CONFIG), "--set", "run.output_dir={tmp}",
                  "--set", "student.context.knowledge=[{file}]"],
    "captions": ["train", str(DEMO_CONFIG), "--set", "run.output_dir={tmp}",
                 "--set", "student.context.captions={file}"],
    "store_summary": ["store", "summary", "{file}"],
    "prompts": ["teach", str(DEMO_CONFIG), "--set", "run.output_dir={tmp}",
                "--set", "teacher.backend=openai", "--set", TO_NOWHERE,
                "--set", "teacher.prompt_files=[{file}]"],
}


def test_the_corpus_is_large_and_covers_every_reader() -> None:
    assert len(ALL) >= 30
    kinds = {name.split("_")[0] for name in ALL}
    assert {"conll", "mnre", "config", "knowledge", "captions", "prompts", "store"} <= kinds
    assert {case["run"] for case in CASES.values()} == set(RUNS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_refused_clearly_or_handled(name: str, tmp_path: Path, cotpd) -> None:
    case = CASES[name]
    file = str(BAD / name)
    args = [a.format(file=file, tmp=tmp_path) for a in RUNS[case["run"]]]
    result = cotpd(*args)
    assert result.exit_code == case["exit"], result.err[-2000:] + result.out[-2000:]
    assert "Traceback" not in result.err + result.out
    message = result.err if case["exit"] else result.out
    for fragment in case["says"]:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    if case["exit"] == 2:
        first, *details = result.err.splitlines()
        assert first.startswith("error: ") and result.err.endswith("\n"), result.err
        assert len(details) == case.get("lines", 1) - 1, result.err
        assert not [line for line in details if line.startswith("error")], result.err
        if case.get("names_file", True):
            assert file in result.err
