"""`cotpd augment`: the augment stage."""

from __future__ import annotations

from pathlib import Path

import click
from cotpd.pipeline.cli_run import DATA_ROOT_HELP, load_with_data_root
from cotpd.pipeline.stages import run_stage


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set augment.times.style=2")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
def augment(config: Path, overrides: tuple[str, ...], data_root: Path | None) -> None:
    """Augment the training split (style, entity with factual check, image) with the
    teacher; answers already in the teacher's store are not asked again."""
    run_config = load_with_data_root(config, overrides, data_root)
    run_stage("augment", run_config, run_config.run.directory)
