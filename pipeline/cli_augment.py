"""`cotpd augment`: the augment stage."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.config import load_run_config
from pipeline.stages import run_stage


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set augment.times.style=2")
def augment(config: Path, overrides: tuple[str, ...]) -> None:
    """Augment the training split (style, entity with factual check, image) with the
    teacher; answers already in the teacher's store are not asked again."""
    run_config = load_run_config(config, list(overrides), defer_unset=True)
    run_stage("augment", run_config, run_config.run.directory)
