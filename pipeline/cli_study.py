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
@click.option("--list", "list_only", is_flag=True,
              help="Only check every cell's config and list the cells.")
def study(study_file: Path, overrides: tuple[str, ...], data_root: Path | None,
          only: str | None, list_only: bool) -> None:
    """Run every cell of STUDY_FILE (teachers x datasets x variants x seeds, or any axes) and
    write one table with mean ± std over seeds, plus the teachers' knowledge quality."""
    from pipeline.study import cell_config, cell_id, cells, load_study, run_study

    spec = load_study(study_file)
    if only:
        spec = spec.model_copy(update={"stages": [s.strip() for s in only.split(",") if s.strip()]})
    extra = [*overrides, *use_data_root(data_root)]
    if list_only:
        for cell, seed in cells(spec):
            run_dir = cell_config(spec, cell, seed, extra).run.directory
            click.echo(f"{cell_id(cell, seed)}  ->  {run_dir}")
        return
    outcome = run_study(spec, extra, echo=click.echo)
    click.echo(f"\n{outcome['directory']}/table.md\n\n{outcome['text']}")
