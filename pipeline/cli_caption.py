"""`cotpd caption` (the caption stage): images -> `<run>/captions/captions.jsonl`."""

from __future__ import annotations

from pathlib import Path

import click
from cotpd.caption.config import CaptionConfig
from cotpd.pipeline.cli_run import DATA_ROOT_HELP, use_data_root
from cotpd.pipeline.config import RunConfig, load_run_config
from cotpd.pipeline.stages import run_stage


def load_caption_configs(path: Path, overrides: list[str]) -> tuple[RunConfig, CaptionConfig]:
    """The run config and its `caption:` section (defaults when the file has none)."""
    run_config = load_run_config(path, overrides, defer_unset=True)
    return run_config, run_config.caption or CaptionConfig()


@click.command()
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set caption.backend=file")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
@click.option("--retry-failed", is_flag=True, help="Caption again the images that failed.")
def caption(config: Path, overrides: tuple[str, ...], data_root: Path | None,
            retry_failed: bool) -> None:
    """The caption stage: one caption per image of the run's samples, with provenance
    (images already captioned are skipped; a bad image is recorded, never fatal)."""
    run_config, _ = load_caption_configs(config, [*overrides, *use_data_root(data_root)])
    run_stage("caption", run_config, run_config.run.directory, retry_failed=retry_failed)
