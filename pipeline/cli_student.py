"""`cotpd train`: the student stage (prediction is in cli_predict)."""

from __future__ import annotations

from pathlib import Path

import click
from cotpd.corpus.errors import CotpdError
from cotpd.pipeline.cli_run import DATA_ROOT_HELP, load_with_data_root
from cotpd.pipeline.stages import run_stage


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set student.variant=mv")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
def train(config: Path, overrides: tuple[str, ...], data_root: Path | None) -> None:
    """Train the student of CONFIG (model selection on dev F1 only); resumes from the last
    checkpoint of an interrupted run."""
    run_config = load_with_data_root(config, overrides, data_root)
    if run_config.student is None:
        raise CotpdError(f"{config}: no 'student' section; add one (see configs/demo_mner.yaml)")
    # Always trains (resuming an interrupted run); `cotpd run` keeps a current student.
    run_stage("train", run_config, run_config.run.directory)
