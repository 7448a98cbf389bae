"""`cotpd caption` (the caption stage): images -> `<run>/captions/captions.jsonl`."""

from __future__ import annotations

from pathlib import Path

import click

from caption.config import CaptionConfig
from corpus.lock import run_dir_lock
from pipeline import sections
from pipeline.config import RunConfig, load_run_config
from pipeline.rundir import write_provenance


def load_caption_configs(path: Path, overrides: list[str]) -> tuple[RunConfig, CaptionConfig]:
    """The run config and its `caption:` section (defaults when the file has none)."""
    run_config = load_run_config(path, overrides)
    return run_config, run_config.caption or CaptionConfig()


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set caption.backend=file")
@click.option("--retry-failed", is_flag=True, help="Caption again the images that failed.")
def caption(config: Path, overrides: tuple[str, ...], retry_failed: bool) -> None:
    """The caption stage: one caption per image of the run's samples, with provenance
    (images already captioned are skipped; a bad image is recorded, never fatal)."""
    run_config, _ = load_caption_configs(config, list(overrides))
    run_dir = run_config.run.directory
    with run_dir_lock(run_dir):
        summary = sections.caption(run_config, run_dir, retry_failed=retry_failed)
        if summary["written"]:
            write_provenance(run_dir, "caption", run_config, summary["fingerprints"])
    if not summary["written"]:
        click.echo(summary["message"])
        return
    reasons = ", ".join(f"{n} {r}" for r, n in summary["failed_reasons"].items())
    click.echo(f"captions ({summary['backend']}, {summary['model']}): {summary['ok']} ok, "
               f"{summary['failed']} failed{f' ({reasons})' if reasons else ''}, "
               f"{summary['skipped_done']} already done of {summary['images']} images; "
               f"{summary['captions_per_second']} captions/s -> {summary['output']}")
    if summary["recovered_partial_line"]:
        click.echo("dropped a partial last line left by an interrupted run", err=True)
    if summary["failed"]:
        click.echo("some images failed (reasons in the file): `cotpd caption CONFIG "
                   "--retry-failed` tries them again", err=True)
