"""`cotpd train`: the student stage (prediction is in cli_predict)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click

from corpus.errors import CotpdError
from corpus.lock import run_dir_lock
from pipeline import sections
from pipeline.config import load_run_config
from pipeline.rundir import write_provenance


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set student.variant=mv")
def train(config: Path, overrides: tuple[str, ...]) -> None:
    """Train the student of CONFIG (model selection on dev F1 only); resumes from the last
    checkpoint of an interrupted run."""
    run_config = load_run_config(config, list(overrides))
    if run_config.student is None:
        raise CotpdError(f"{config}: no 'student' section; add one (see configs/demo_mner.yaml)")
    run_dir = run_config.run.directory
    rank = int(os.environ.get("RANK", "0"))  # under torchrun/deepspeed, rank 0 reports
    # Ranks are processes of one training: rank 0 holds the run's lock for all of them.
    with run_dir_lock(run_dir) if rank == 0 else contextlib.nullcontext():
        result = sections.train(run_config, run_dir)  # torch loads only here
        if rank != 0:
            return
        write_provenance(run_dir, "train", run_config, result.report["fingerprints"])
    dev = result.dev_metrics
    click.echo(f"student ({run_config.student.variant}) -> {result.model_dir}; dev F1 "
               f"{100 * dev.get('eval_f1', 0.0):.2f} (P {100 * dev.get('eval_precision', 0.0):.2f}"
               f", R {100 * dev.get('eval_recall', 0.0):.2f})")
