"""SIGKILL a `cotpd` stage at seeded random points of its progress, re-run it, and keep
count of the kills that landed while it was still working."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from harness import REPO, cotpd_command, run_cotpd

SEED = int(os.environ.get("COTPD_KILL_SEED", "8"))


@dataclass
class KillLog:
    """What the kills of one stage did, for the assertions and the report."""

    stage: str
    landed: list[str] = field(default_factory=list)  # where each real kill struck
    missed: int = 0  # the run had finished before the kill point


def rng_for(stage: str) -> random.Random:
    return random.Random(f"{stage}:{SEED}")


def kill_when(args: list[str], ready: Callable[[], bool], jitter_s: float,
              timeout_s: float = 600) -> bool:
    """Run `cotpd ARGS`; once `ready()` holds, wait `jitter_s`, then SIGKILL. True when the
    kill struck a running process."""
    child = subprocess.Popen(cotpd_command(*args), cwd=REPO, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    try:
        while not ready():
            if child.poll() is not None:
                return False
            if time.monotonic() > deadline:
                raise AssertionError(f"kill point never reached: {args}")
            time.sleep(0.02)
        time.sleep(jitter_s)
        if child.poll() is not None:
            return False
        child.send_signal(signal.SIGKILL)
        return True
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.wait()


def finish(args: list[str]) -> None:
    done = run_cotpd(*args)
    assert done.returncode == 0, done.stderr[-3000:]
