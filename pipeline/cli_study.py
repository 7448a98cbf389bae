"""`cotpd study STUDY.yaml`: a grid of runs and its comparison table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from cotpd.pipeline.cli_run import DATA_ROOT_HELP, use_data_root
from cotpd.pipeline.study_log import study_echo, study_log

if TYPE_CHECKING:
    from cotpd.pipeline.study import StudySpec


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
              help="Only check every cell's config and list the cells, each finished, "
                   "run with other settings (it would run again), or not run.")
@click.option("--slurm", is_flag=True,
              help="Submit the selected unfinished cells as a Slurm job array, and a job "
                   "that writes the table once they have all ended; print the job ids.")
@click.option("--sbatch", "sbatch_options", default="", metavar="'OPTIONS'",
              help="With --slurm: sbatch options for every job, e.g. "
                   "'--partition=gpu --gpus-per-node=1 --time=4:00:00'.")
@click.option("--cell-index", type=int, help="Run only the grid's cell N (0-based, in --list "
                                             "order) and write no table: a --slurm task.")
@click.option("--table-only", is_flag=True, help="Run no cell; write the table from every "
                                                 "finished cell.")
def study(study_file: Path, overrides: tuple[str, ...], data_root: Path | None,
          only: str | None, where: tuple[str, ...], seeds: str | None,
          list_only: bool, slurm: bool, sbatch_options: str, cell_index: int | None,
          table_only: bool) -> None:
    """Run every cell of STUDY_FILE (teachers x datasets x variants x seeds, or any axes) and
    write one table with mean ± std over seeds, plus the teachers' knowledge quality.

    On a Slurm cluster, --slurm runs each cell as a job of its own (an array), then the
    table: `cotpd study STUDY --slurm --sbatch '--partition=gpu --gpus-per-node=1'`."""
    from cotpd.pipeline.config import ConfigError
    from cotpd.pipeline.study import (
        cell_config,
        cell_id,
        cell_state,
        cells,
        load_study,
        parse_selection,
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
        states = []
        for cell, seed in cells(spec):
            if selected(cell, seed, chosen, wanted):
                run_config = cell_config(spec, cell, seed, extra)
                states.append(cell_state(run_config))
                click.echo(f"{cell_id(cell, seed)}  {states[-1]}  ->  {run_config.run.directory}")
        click.echo(f"{states.count('finished')} of {len(states)} listed cells finished"
                   + (f", {states.count('other settings')} ran with other settings"
                      if "other settings" in states else ""))
        return
    with study_log(spec.directory, spec.name):
        _run(spec, study_file, extra, overrides, data_root, only, chosen, wanted, slurm,
             sbatch_options, cell_index, table_only)


def _run(spec: StudySpec, study_file: Path, extra: list[str], overrides: tuple[str, ...],
         data_root: Path | None, only: str | None, chosen: dict[str, set[str]],
         wanted: set[int] | None, slurm: bool, sbatch_options: str, cell_index: int | None,
         table_only: bool) -> None:
    """Everything `cotpd study` does but listing: run a cell, submit, or run the grid."""
    from cotpd.pipeline.study import run_cell, run_study

    if cell_index is not None:
        run_cell(spec, cell_index, extra, echo=study_echo)
        return
    if slurm:
        from cotpd.pipeline.study_slurm import pending_cells, submit_study

        indices = pending_cells(spec, extra, chosen, wanted)
        if not indices:
            study_echo("every selected cell has finished; writing the table here")
        else:
            repeated = [f"--set={o}" for o in overrides] + (
                [f"--data-root={data_root.resolve()}"] if data_root else []) + (
                [f"--only={only}"] if only else [])
            jobs = submit_study(study_file, spec, indices, repeated, sbatch_options)
            study_echo(f"submitted {len(indices)} cell(s) as job array {jobs['cells']} "
                       f"(grid cells {','.join(map(str, indices))}); the table job "
                       f"{jobs['table']} writes {spec.directory / 'table.md'} after them; "
                       f"logs in {jobs['logs']}")
            return
    outcome = run_study(spec, extra, echo=study_echo, where=chosen,
                        seeds=set() if table_only else wanted)
    study_echo(f"\n{outcome['directory']}/table.md\n\n{outcome['text']}")
