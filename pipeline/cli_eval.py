"""`cotpd eval ...`: scoring predictions."""

from __future__ import annotations

import json
from pathlib import Path

import click
from cotpd.eval.scoring import score_files
from cotpd.eval.tables import format_scores_table


@click.group("eval")
def eval_group() -> None:
    """Metrics and reports."""


@eval_group.command("score")
@click.option("--gold", required=True, type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path),
              help="Gold split file (CoNLL+IMGID for MNER, MNRE lines for MRE).")
@click.option("--pred", required=True, type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path),
              help="Predictions in the gold file's format, same sentences in the same order.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the scores as JSON to this file.")
def score_command(gold: Path, pred: Path, as_json: bool, output: Path | None) -> None:
    """Entity-level micro and per-type P/R/F1 (MNER, conlleval rules) or micro P/R/F1 over
    relations other than None (MRE)."""
    scores = score_files(gold, pred)
    payload = json.dumps(scores.to_dict(), indent=2)
    if output:
        output.write_text(payload + "\n", encoding="utf-8")
    click.echo(payload if as_json else format_scores_table(scores))
