"""What each stage of a run cost, from the summaries it left in the run directory: the
`stages` table of metrics.json and report.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cotpd.corpus.run_files import RunFiles
from cotpd.eval.knowledge_quality import OpenStore


def read_json(path: Path) -> dict[str, Any] | None:
    """A summary file's content; None where the stage left none."""
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def stage_costs(run_dir: Path, open_store: OpenStore | None = None
                ) -> dict[str, dict[str, Any]]:
    """Seconds and tokens of each stage that left a summary in the run directory; with
    `open_store`, also every answer the run's teacher has in its store."""
    costs: dict[str, dict[str, Any]] = {}
    files = RunFiles(run_dir)
    caption = read_json(files.captions_summary)
    if caption:
        costs["caption"] = {"seconds": caption.get("wall_seconds"),
                            "notes": f"{caption.get('ok')} ok, {caption.get('failed')} failed, "
                                     f"{caption.get('skipped_done')} already done"}
    teach = read_json(files.teacher_summary)
    if teach:
        costs["teach"] = {"seconds": teach.get("wall_seconds"),
                          "tokens_in": teach.get("prompt_tokens"),
                          "tokens_out": teach.get("completion_tokens"),
                          "notes": f"{teach.get('answered')} answered, {teach.get('failed')} "
                                   f"failed, {teach.get('skipped_done')} from the store"}
        totals = _store_totals(teach, open_store) if open_store else None
        if totals:
            costs["teach (store total)"] = totals
    augment = read_json(files.augment_summary)
    if augment:
        types = augment.get("types", {})
        costs["augment"] = {
            "seconds": augment.get("wall_seconds"),
            "tokens_out": sum(t.get("teacher_prompts", {}).get("completion_tokens", 0)
                              for t in types.values()),
            "notes": f"{augment.get('written', 0)} written of "
                     f"{sum(t.get('asked', 0) for t in types.values())} asked"}
    train = read_json(files.train_report)
    if train:
        costs["train"] = {"seconds": round(train.get("train_seconds") or 0.0, 2),
                          "notes": f"{train.get('steps')} steps, "
                                   f"{train.get('train_samples_per_second')} samples/s"}
    return costs


def _store_totals(teach: dict[str, Any], open_store: OpenStore) -> dict[str, Any] | None:
    """Every answer this teacher ever gave in the store (the cost of the knowledge, however
    many runs it took to write it)."""
    store_path = Path(teach.get("store") or "")
    if not store_path.is_file() or not teach.get("fingerprint"):
        return None
    with open_store(store_path) as store:
        rows = store.summary(teach["fingerprint"])
    return {"tokens_in": sum(r["prompt_tokens"] for r in rows),
            "tokens_out": sum(r["completion_tokens"] for r in rows),
            "notes": f"{sum(r['answered'] for r in rows)} answers, "
                     f"{sum(r.get('truncated', 0) for r in rows)} truncated, "
                     f"{sum(r['failed'] for r in rows)} failures in the store"}
