"""`cotpd study STUDY --slurm`: the study's cells as one Slurm job array (one task per cell
to run), and a job after it that writes the table from every finished cell.

Each task runs `cotpd study STUDY --cell-index N` (N: the cell's place in the grid, so the
array's indices name cells whatever finished since), the table job `cotpd study STUDY
--table-only`. Both run this Python from the current folder, with the same options.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from cotpd.corpus.errors import CotpdError
from cotpd.corpus.lock import STORE_WAIT_ENV
from cotpd.pipeline.study import StudySpec, cell_config, cells, finished_metrics, selected


def pending_cells(spec: StudySpec, extra: list[str], where: dict[str, set[str]],
                  seeds: set[int] | None) -> list[int]:
    """Grid indices of the selected cells that have not finished."""
    return [index for index, (cell, seed) in enumerate(cells(spec))
            if selected(cell, seed, where, seeds)
            and finished_metrics(cell_config(spec, cell, seed, extra)) is None]


def _sbatch(arguments: list[str]) -> str:
    try:
        result = subprocess.run(["sbatch", "--parsable", *arguments], capture_output=True,
                                text=True, timeout=120)
    except FileNotFoundError:
        raise CotpdError("--slurm: sbatch is not on PATH (run on a Slurm login node)") from None
    if result.returncode != 0:
        raise CotpdError(f"--slurm: sbatch failed: {result.stderr.strip()}")
    return result.stdout.strip().split(";")[0]


def submit_study(study_file: Path, spec: StudySpec, indices: list[int], options: list[str],
                 sbatch_options: str = "") -> dict[str, str]:
    """Submit the array of `indices` and the table job; `options` are the `cotpd study`
    options every job repeats (--set, --data-root, --only). Returns the two job ids. If the
    table job cannot be submitted, the array is cancelled."""
    logs = (spec.directory / "slurm").resolve()
    logs.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "cotpd.pipeline.cli", "study", str(study_file.resolve()),
               *options]
    # Cells sharing a knowledge store take turns at it (the later ones reuse its answers)
    # rather than fail on its lock; the job's time limit bounds the wait.
    wait = os.environ.get(STORE_WAIT_ENV, "86400")
    common = [f"--chdir={Path.cwd()}", f"--export=ALL,{STORE_WAIT_ENV}={wait}",
              *shlex.split(sbatch_options)]
    name = f"cotpd-study-{spec.name}"
    array = _sbatch([*common, f"--job-name={name}", f"--array={','.join(map(str, indices))}",
                     f"--output={logs}/cell-%a-%A.out", "--wrap",
                     shlex.join([*command, "--cell-index"]) + " $SLURM_ARRAY_TASK_ID"])
    try:
        table = _sbatch([*common, f"--job-name={name}-table",
                         f"--dependency=afterany:{array}", f"--output={logs}/table-%j.out",
                         "--wrap", shlex.join([*command, "--table-only"])])
    except CotpdError:
        subprocess.run(["scancel", array], capture_output=True, timeout=60)
        raise
    return {"cells": array, "table": table, "logs": str(logs)}
