"""`cotpd run` (every stage of a config) and `cotpd evaluate` (predict, score, report)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from cotpd.pipeline.config import RunConfig, load_run_config
from cotpd.pipeline.stages import run_stage, run_stages

DATA_ROOT_HELP = "Folder holding one folder per dataset (else data.data_root, $COTPD_DATA_ROOT)."


def use_data_root(data_root: Path | None) -> list[str]:
    """`--data-root` sets data.data_root and $COTPD_DATA_ROOT, so `${COTPD_DATA_ROOT}` in a
    config (a captions or knowledge file beside the datasets) means the same folder."""
    if data_root is None:
        return []
    os.environ["COTPD_DATA_ROOT"] = str(data_root.resolve())
    return [f"data.data_root={data_root.resolve()}"]


def load_with_data_root(config: Path, overrides: tuple[str, ...], data_root: Path | None
                        ) -> RunConfig:
    return load_run_config(config, [*overrides, *use_data_root(data_root)], defer_unset=True)


@click.command("run")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set student.variant=mv")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
@click.option("--only", help="Comma-separated stages to run (caption,teach,augment,train,"
                             "evaluate); default: every stage the config has a section for.")
def run_command(config: Path, overrides: tuple[str, ...], data_root: Path | None,
                only: str | None) -> None:
    """Every stage of CONFIG in order; finished work is skipped, so a re-run continues."""
    run_config = load_with_data_root(config, overrides, data_root)
    stages = [s.strip() for s in only.split(",") if s.strip()] if only else None
    run_stages(run_config, run_config.run.directory, stages)


@click.command("evaluate")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
def evaluate_command(config: Path, overrides: tuple[str, ...], data_root: Path | None) -> None:
    """Predict dev and test with the run's student (its inference view), score them, and write
    metrics.json, report.md and plots into the run directory."""
    run_config = load_with_data_root(config, overrides, data_root)
    run_stage("evaluate", run_config, run_config.run.directory)
