"""Every bad input in tests/data/bad_inputs/, one file each: one clear message naming the file
and line, a non-zero exit, and no traceback."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BAD = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"
ALL = yaml.safe_load((BAD / "expected.yaml").read_text(encoding="utf-8"))
# Cases with a `run` key need another command: tests/reliability/test_bad_input_corpus.py.
CASES = {name: case for name, case in ALL.items() if "run" not in case}


def test_every_bad_file_has_an_expectation() -> None:
    files = {p.name for p in BAD.iterdir() if p.name != "expected.yaml"}
    assert files == {name for name, case in ALL.items() if case.get("run") != "stats_missing"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gives_one_clear_message(name: str, cotpd) -> None:
    case = CASES[name]
    result = cotpd("data", "stats", BAD / name, *case.get("args", []))
    assert result.exit_code == case["exit"], result.err + result.out
    message = result.err if case["exit"] == 2 else result.out
    assert str(BAD / name) in message
    for fragment in case["says"]:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert "Traceback" not in result.err + result.out
    if case["exit"] == 2:
        assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err


def test_the_installed_command_exits_2_without_traceback_and_debug_shows_it() -> None:
    bad = str(BAD / "conll_token_line_without_tab.txt")
    plain = subprocess.run([sys.executable, "-m", "cotpd.pipeline.cli", "data", "stats", bad],
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2
    assert "Traceback" not in plain.stderr and ":3:" in plain.stderr
    debug = subprocess.run([sys.executable, "-m", "cotpd.pipeline.cli", "--debug", "data", "stats",
                            bad], capture_output=True, text=True, timeout=120)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
