"""`cotpd augment`: the augment stage."""

from __future__ import annotations

from pathlib import Path

import click

from corpus.lock import run_dir_lock
from corpus.run_files import RunFiles
from pipeline import sections
from pipeline.config import load_run_config
from pipeline.rundir import write_provenance


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set augment.times.style=2")
def augment(config: Path, overrides: tuple[str, ...]) -> None:
    """Augment the training split (style, entity with factual check, image) with the
    teacher; answers already in the teacher's store are not asked again."""
    run_config = load_run_config(config, list(overrides))
    run_dir = run_config.run.directory
    with run_dir_lock(run_dir):
        summary = sections.augment(run_config, run_dir)
        write_provenance(run_dir, "augment", run_config, summary["fingerprints"])
    for kind, counts in summary["types"].items():
        drops = ", ".join(f"{reason} {n}" for reason, n in counts["dropped"].items()) or "none"
        click.echo(f"{kind}: {counts['asked']} asked, {counts['kept']} kept; dropped: {drops}")
    click.echo(f"{summary['written']} augmented samples from {summary['sources']} training "
               f"samples in {summary['wall_seconds']} s -> {RunFiles(run_dir).augmented} "
               f"(summary: {RunFiles(run_dir).augment_summary})")
