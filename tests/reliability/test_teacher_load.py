"""Load: the teacher runner with 10,000 prompts against a local server process at
concurrency 256 loses nothing and keeps bounded memory (its peak RSS grows by no more at
10,000 prompts than a fixed allowance over 1,000). Slow: `-m slow`; figures printed with -s."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from harness import REPO, ServerProcess

DRIVER = Path(__file__).resolve().parent / "load_driver.py"


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
    # Bounded: 9,000 more prompts cost at most 64 MiB more peak memory (rows are on disk).
    growth_small = small["peak_rss_mb"] - small["rss_before_mb"]
    growth_large = large["peak_rss_mb"] - large["rss_before_mb"]
    assert growth_large - growth_small < 64, (small, large)
    assert large["peak_rss_mb"] < 1024
