"""`cotpd teach` (the teacher stage) and `cotpd store` (the knowledge store)."""

from __future__ import annotations

import json
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
              help="Override a config key, e.g. --set teacher.backend=openai")
@click.option("--retry-failed", is_flag=True, help="Ask again only the prompts that failed.")
def teach(config: Path, overrides: tuple[str, ...], retry_failed: bool) -> None:
    """The teacher stage: CoT explanations for every sample into the store (answers already
    stored are skipped), then the student's knowledge file."""
    run_config = load_run_config(config, list(overrides))
    run_dir = run_config.run.directory
    with run_dir_lock(run_dir):
        summary = sections.teach(run_config, run_dir, retry_failed=retry_failed)
        write_provenance(run_dir, "teach", run_config, summary["fingerprints"])
    click.echo(f"teacher {summary['teacher']} ({summary['backend']}, {summary['fingerprint']}): "
               f"{summary['answered']} answered, {summary['failed']} failed, "
               f"{summary['truncated']} truncated (cut off at max_tokens), "
               f"{summary['skipped_done']} already in the store; {summary['prompt_tokens']} "
               f"tokens in, {summary['completion_tokens']} out in {summary['wall_seconds']} s "
               f"({summary['completion_tokens_per_second']} tokens/s)")
    click.echo(f"knowledge: {json.dumps(summary['knowledge'])} -> "
               f"{RunFiles(run_dir).knowledge}")
    if summary["failed"] or summary["truncated"]:
        click.echo("some prompts failed or were cut off: `cotpd teach CONFIG --retry-failed` "
                   "asks them again (the cut-off ones with twice the tokens)", err=True)


@click.group()
def store() -> None:
    """The knowledge store: summaries and export."""


@store.command("summary")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def store_summary(path: Path) -> None:
    """Answered, truncated and failed rows, tokens and latency per teacher and prompt."""
    from teacher.store import KnowledgeStore

    with KnowledgeStore(path) as knowledge_store:
        for row in knowledge_store.summary():
            click.echo(json.dumps(row))


@store.command("export")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--teacher", help="Only this teacher (name or fingerprint).")
def store_export(path: Path, out: Path, teacher: str | None) -> None:
    """Every row as JSON lines."""
    from teacher.store import KnowledgeStore

    with KnowledgeStore(path) as knowledge_store:
        count = knowledge_store.export_jsonl(out, teacher=teacher)
    click.echo(f"{count} rows -> {out}")
