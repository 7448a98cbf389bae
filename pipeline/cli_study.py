"""`cotpd study STUDY.yaml`: a grid of runs and its comparison table."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli_run import DATA_ROOT_HELP, use_data_root


@click.command("study")
@click.argument("study_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a run-config key in every cell.")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
@click.option("--only", help="Comma-separated stages for every cell (e.g. caption,teach: the "
                             "teachers' knowledge quality without training).")
@click.option("--where", "where", multiple=True, metavar="AXIS=ARM[,ARM]",
              help="Run only the cells with these arms (repeatable); the table still holds "
                   "every finished cell.")
@click.option("--seeds", help="Run only these seeds (comma-separated), e.g. 1 or 1,2.")
@click.option("--list", "list_only", is_flag=True,
              help="Only check every cell's config and list the cells.")
def study(study_file: Path, overrides: tuple[str, ...], data_root: Path | None,
          only: str | None, where: tuple[str, ...], seeds: str | None,
          list_only: bool) -> None:
    """Run every cell of STUDY_FILE (teachers x datasets x variants x seeds, or any axes) and
    write one table with mean ± std over seeds, plus the teachers' knowledge quality."""
    from pipeline.config import ConfigError
    from pipeline.study import (
        cell_config,
        cell_id,
        cells,
        load_study,
        parse_selection,
        run_study,
        selected,
    )

    spec = load_study(study_file)
    if only:
        spec = spec.model_copy(update={"stages": [s.strip() for s in only.split(",") if s.strip()]})
    extra = [*overrides, *use_data_root(data_root)]
    chosen = parse_selection(list(where), spec)
    try:
        wanted = {int(s) for s in seeds.split(",") if s.strip()} if seeds else None
    except ValueError:
        raise ConfigError(f"--seeds {seeds!r}: expected seeds like 1 or 1,2") from None
    if list_only:
        for cell, seed in cells(spec):
            if selected(cell, seed, chosen, wanted):
                run_dir = cell_config(spec, cell, seed, extra).run.directory
                click.echo(f"{cell_id(cell, seed)}  ->  {run_dir}")
        return
    outcome = run_study(spec, extra, echo=click.echo, where=chosen, seeds=wanted)
    click.echo(f"\n{outcome['directory']}/table.md\n\n{outcome['text']}")
