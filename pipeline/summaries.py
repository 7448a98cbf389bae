"""What each stage's summary says on the console: the same lines under its own command and
under `cotpd run`, written once here. `lines` go to stdout, `notes` (what to do about a
problem) to stderr."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.stage_result import StageResult


@dataclass
class Summary:
    lines: list[str]
    notes: list[str] = field(default_factory=list)


def caption_summary(result: StageResult, run_dir: Path) -> Summary:
    summary = result.summary
    if not summary["written"]:
        return Summary([summary["message"]])
    reasons = ", ".join(f"{n} {r}" for r, n in summary["failed_reasons"].items())
    notes = []
    if summary["recovered_partial_line"]:
        notes.append("dropped a partial last line left by an interrupted run")
    if summary["failed"]:
        notes.append("some images failed (reasons in the file): `cotpd caption CONFIG "
                     "--retry-failed` tries them again")
    return Summary([f"captions ({summary['backend']}, {summary['model']}): {summary['ok']} ok, "
                    f"{summary['failed']} failed{f' ({reasons})' if reasons else ''}, "
                    f"{summary['skipped_done']} already done of {summary['images']} images; "
                    f"{summary['captions_per_second']} captions/s -> {summary['output']}"],
                   notes)


def teach_summary(result: StageResult, run_dir: Path) -> Summary:
    summary = result.summary
    who = f"teacher {summary['teacher']} ({summary['backend']}, {summary['fingerprint']})"
    if "import" in summary:
        done = ", ".join(f"{n} {what}" for what, n in summary["import"].items())
        head = f"{who}: {done}"
    else:
        head = (f"{who}: {summary['answered']} answered, {summary['failed']} failed, "
                f"{summary['truncated']} truncated (cut off at max_tokens), "
                f"{summary['skipped_done']} already in the store"
                + (f", {summary['shared']} the same prompt as another sample's"
                   if summary.get("shared") else "")
                + f"; {summary['prompt_tokens']} "
                f"tokens in, {summary['completion_tokens']} out in {summary['wall_seconds']} s "
                f"({summary['completion_tokens_per_second']} tokens/s)")
    notes = []
    if summary.get("failed") or summary.get("truncated"):
        notes.append("some prompts failed or were cut off: `cotpd teach CONFIG --retry-failed` "
                     "asks them again (the cut-off ones with twice the tokens)")
    return Summary([head, f"knowledge: {json.dumps(summary['knowledge'])} -> "
                          f"{RunFiles(run_dir).knowledge}"], notes)


def augment_summary(result: StageResult, run_dir: Path) -> Summary:
    summary = result.summary
    lines = []
    for kind, counts in summary.get("types", {}).items():
        drops = ", ".join(f"{reason} {n}" for reason, n in counts["dropped"].items()) or "none"
        lines.append(f"{kind}: {counts['asked']} asked, {counts['kept']} kept; dropped: {drops}")
    files = RunFiles(run_dir)
    lines.append(f"{summary.get('written', 0)} augmented samples from "
                 f"{summary.get('sources', 0)} training samples in {summary['wall_seconds']} s "
                 f"-> {files.augmented} (summary: {files.augment_summary})")
    return Summary(lines)


def train_summary(result: StageResult | None, run_dir: Path) -> Summary:
    """`result` None: the student of these inputs was kept, not trained again."""
    if result is None:
        return Summary(["the student of these inputs is already trained; kept"])
    dev = result.summary["dev"]
    return Summary([f"student ({result.summary['variant']}) -> {result.outputs['model']}; dev F1 "
                    f"{100 * dev.get('eval_f1', 0.0):.2f} (P "
                    f"{100 * dev.get('eval_precision', 0.0):.2f}, R "
                    f"{100 * dev.get('eval_recall', 0.0):.2f})"])


def headline_table(metrics: dict[str, Any]) -> str:
    lines = [f"{'split':<6} {'P':>7} {'R':>7} {'F1':>7} {'gold':>6}"]
    for split, scores in metrics["splits"].items():
        m = scores["micro"]
        lines.append(f"{split:<6} {100 * m['precision']:>7.2f} {100 * m['recall']:>7.2f} "
                     f"{100 * m['f1']:>7.2f} {m['n_gold']:>6d}")
    return "\n".join(lines)


def evaluate_summary(result: StageResult, run_dir: Path) -> Summary:
    return Summary([f"report: {RunFiles(run_dir).report}",
                    *headline_table(result.summary).split("\n")])
