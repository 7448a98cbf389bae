"""Load: the teacher runner with 10,000 prompts against a local server process at
concurrency 256 loses nothing and keeps bounded memory: the bounds docs/reliability.md states
(Guarantees, Load), which a fast test checks the page still states. Slow: `-m slow`; the
measured figures are printed with -s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import REPO, ServerProcess

DRIVER = Path(__file__).resolve().parent / "load_driver.py"
# The page's figures (measured twice on a 2-core CPU: peak 183 and 190 MiB, 45 and 51 MiB
# over the start at 10,000 prompts, 35 MiB at 1,000: 10-16 MiB more for 9,000 more prompts).
PEAK_MIB, OVER_START_MIB, MORE_FOR_9000_MIB = 256, 96, 32
STATED_LOAD = (f"peak RSS under {PEAK_MIB} MiB, at most {OVER_START_MIB} MiB over the "
                f"process's start, and at most {MORE_FOR_9000_MIB} MiB more at 10,000 prompts "
                "than at 1,000")


def drive(url: str, n: int, store: Path) -> dict:
    done = subprocess.run([sys.executable, str(DRIVER), url, str(n), "256", str(store)],
                          cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
def test_ten_thousand_prompts_at_concurrency_256(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "requests.jsonl") as server:
        small = drive(server.url, 1_000, tmp_path / "small.sqlite")
        large = drive(server.url, 10_000, tmp_path / "large.sqlite")
        seen = len(server.requests())
    print(f"\nload 1k: {small}\nload 10k: {large}\nserver requests: {seen}")
    for run, n in ((small, 1_000), (large, 10_000)):
        assert run["answered"] == run["stored"] == n and run["failed"] == 0, run
    assert seen == 11_000  # nothing asked twice, nothing lost
    # Bounded (rows are on disk, not in memory): the page's figures.
    growth_small = small["peak_rss_mb"] - small["rss_before_mb"]
    growth_large = large["peak_rss_mb"] - large["rss_before_mb"]
    assert max(small["peak_rss_mb"], large["peak_rss_mb"]) < PEAK_MIB, (small, large)
    assert max(growth_small, growth_large) <= OVER_START_MIB, (small, large)
    assert growth_large - growth_small <= MORE_FOR_9000_MIB, (small, large)


def test_the_docs_state_the_bounds_the_load_test_asserts() -> None:
    page = " ".join((REPO / "docs" / "reliability.md").read_text(encoding="utf-8").split())
    assert STATED_LOAD in page
