"""`cotpd run` (every stage of a config) and `cotpd evaluate` (predict, score, report)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from corpus.lock import run_dir_lock
from corpus.run_files import RunFiles
from pipeline.config import RunConfig, load_run_config
from pipeline.rundir import write_provenance

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
    return load_run_config(config, [*overrides, *use_data_root(data_root)])


def headline_table(metrics: dict) -> str:
    lines = [f"{'split':<6} {'P':>7} {'R':>7} {'F1':>7} {'gold':>6}"]
    for split, scores in metrics["splits"].items():
        m = scores["micro"]
        lines.append(f"{split:<6} {100 * m['precision']:>7.2f} {100 * m['recall']:>7.2f} "
                     f"{100 * m['f1']:>7.2f} {m['n_gold']:>6d}")
    return "\n".join(lines)


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
    from pipeline.stages import run_stages

    run_config = load_with_data_root(config, overrides, data_root)
    run_dir = run_config.run.directory
    stages = [s.strip() for s in only.split(",") if s.strip()] if only else None
    run_stages(run_config, run_dir, stages, echo=click.echo)
    metrics_path = RunFiles(run_dir).metrics
    if metrics_path.is_file() and (stages is None or "evaluate" in stages):
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        click.echo(f"\nreport: {RunFiles(run_dir).report}\n{headline_table(metrics)}")


@click.command("evaluate")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
def evaluate_command(config: Path, overrides: tuple[str, ...], data_root: Path | None) -> None:
    """Predict dev and test with the run's student (its inference view), score them, and write
    metrics.json, report.md and plots into the run directory."""
    from pipeline.evaluate_stage import evaluate_run

    run_config = load_with_data_root(config, overrides, data_root)
    run_dir = run_config.run.directory
    with run_dir_lock(run_dir):
        metrics = evaluate_run(run_config, run_dir)
        write_provenance(run_dir, "evaluate", run_config, metrics["fingerprints"]["data"])
    click.echo(f"report: {RunFiles(run_dir).report}\n{headline_table(metrics)}")
