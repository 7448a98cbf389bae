"""`cotpd teach` (the teacher stage) and `cotpd store` (the knowledge store)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from cotpd.pipeline.cli_run import DATA_ROOT_HELP, load_with_data_root
from cotpd.pipeline.stages import run_stage


@click.command("teach")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Override a config key, e.g. --set teacher.backend=openai")
@click.option("--data-root", type=click.Path(path_type=Path), help=DATA_ROOT_HELP)
@click.option("--retry-failed", is_flag=True, help="Ask again only the prompts that failed.")
def teach_command(config: Path, overrides: tuple[str, ...], data_root: Path | None,
                  retry_failed: bool) -> None:
    """The teacher stage: CoT explanations for every sample into the store (answers already
    stored are skipped), then the student's knowledge file."""
    run_config = load_with_data_root(config, overrides, data_root)
    run_stage("teach", run_config, run_config.run.directory, retry_failed=retry_failed)


@click.group()
def store() -> None:
    """The knowledge store: summaries and export."""


@store.command("summary")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def store_summary(path: Path) -> None:
    """Answered, truncated and failed rows, tokens and latency per teacher and prompt."""
    from cotpd.teacher.store import KnowledgeStore

    with KnowledgeStore(path) as knowledge_store:
        for row in knowledge_store.summary():
            click.echo(json.dumps(row))


@store.command("export")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--teacher", help="Only this teacher (name or fingerprint).")
def store_export(path: Path, out: Path, teacher: str | None) -> None:
    """Every row as JSON lines."""
    from cotpd.teacher.store import KnowledgeStore

    with KnowledgeStore(path) as knowledge_store:
        count = knowledge_store.export_jsonl(out, teacher=teacher)
    click.echo(f"{count} rows -> {out}")
