"""The caption stage: each image of a run's samples -> one JSONL line with its caption and
provenance. Resumable (ids already written are skipped), and a bad image is recorded as
`failed` with its reason, never a crash."""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cotpd.caption.captioners import Captioner
from cotpd.caption.config import CaptionConfig
from cotpd.caption.registry import NONE, captioner_class
from cotpd.corpus.config import DataConfig
from cotpd.corpus.context_files import normalise_image_id
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.progress import progress_bar
from cotpd.corpus.run_files import RunFiles, read_caption_records
from cotpd.corpus.stage_result import StageResult

logger = logging.getLogger(__name__)


def build_captioner(config: CaptionConfig, images_dir: Path) -> Captioner:
    """The captioner registered as `caption.backend` (its module imported only now)."""
    captioner: Captioner = captioner_class(config.backend).from_config(config, images_dir)
    return captioner


def _resume(path: Path, retry_failed: bool) -> tuple[set[str], bool, int]:
    """Ids already in the output; a partial last line (a killed run) is dropped, and with
    `retry_failed` so are the failed records. Returns (done, recovered, dropped)."""
    data = path.read_bytes() if path.is_file() else b""
    recovered = bool(data) and not data.endswith(b"\n")
    records = read_caption_records(path, data[: data.rfind(b"\n") + 1].decode("utf-8"))
    kept = [r for r in records if not retry_failed or r.get("status") == "ok"]
    if recovered or len(kept) < len(records):
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    return {normalise_image_id(r["img_id"]) for r in kept}, recovered, len(records) - len(kept)


def _append(handle: Any, records: list[dict[str, Any]]) -> None:
    """Whole lines, on disk before the next batch: a kill leaves at most a partial last
    line, which the next start drops."""
    handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())
    handle.flush()
    os.fsync(handle.fileno())


def run(config: CaptionConfig, data: DataConfig, run_dir: Path, *, retry_failed: bool = False,
        captioner: Captioner | None = None) -> StageResult:
    """Caption every image of the run's samples into the output JSONL; its `summary` is also
    `<run>/captions/summary.json`. `captioner` overrides the configured backend."""
    began = time.perf_counter()
    summary = _caption(config, data, run_dir, retry_failed, captioner)
    if not summary["written"]:
        return StageResult("caption", {}, {}, None, 0.0, summary)
    return StageResult(
        "caption", {"captions": Path(summary["output"]),
                    "summary": RunFiles(run_dir).captions_summary},
        {k: summary[k] for k in ("images", "ok", "failed", "skipped_done")},
        summary["fingerprints"], round(time.perf_counter() - began, 2), summary)


def _caption(config: CaptionConfig, data: DataConfig, run_dir: Path, retry_failed: bool,
             captioner: Captioner | None) -> dict[str, Any]:
    if config.backend == NONE and captioner is None:
        return {"backend": "none", "written": False, "fingerprints": {},
                "message": "caption.backend is none: no captions written"}
    if captioner is None:  # a captioner that needs its own environment runs the stage there
        run_elsewhere = getattr(captioner_class(config.backend), "run_elsewhere", None)
        summary = run_elsewhere(config, data, run_dir, retry_failed) if run_elsewhere else None
        if summary is not None:
            return summary
    start = time.perf_counter()
    prepared = prepare_dataset(data, run_dir)
    ids = list(dict.fromkeys(
        normalise_image_id(s.image_id) for split in prepared.report["splits"]
        for s in read_samples_jsonl(prepared.data_dir / f"{split}.jsonl") if s.image_id))
    output = config.output or RunFiles(run_dir).captions
    output.parent.mkdir(parents=True, exist_ok=True)
    done, recovered, dropped = _resume(output, retry_failed)
    todo = [i for i in ids if i not in done]
    logger.info("%d images: %d already captioned, %d to caption (%s) -> %s", len(ids),
                len(ids) - len(todo), len(todo), config.backend, output)
    if todo and captioner is None:  # a finished run never loads the model
        captioner = build_captioner(config, data.images_dir())
    counts: Counter[str] = Counter()
    began = time.perf_counter()  # the rate is the captioning's own, not the model loading's
    batches = [todo[i:i + config.batch_size] for i in range(0, len(todo), config.batch_size)]
    with open(output, "ab") as handle, ThreadPoolExecutor(max_workers=1) as ahead, \
            progress_bar(total=len(todo), desc="caption", unit="img", dynamic_ncols=True) as bar:
        pending = ahead.submit(captioner.prepare, batches[0]) if batches else None
        for index, batch in enumerate(batches):
            loaded = pending.result()
            if index + 1 < len(batches):  # decode the next batch while this one generates
                pending = ahead.submit(captioner.prepare, batches[index + 1])
            records = [{"img_id": image_id, "caption": o.caption or "",
                        "status": "failed" if o.reason else "ok", "reason": o.reason,
                        "detail": o.detail, "backend": captioner.name, "model": captioner.source,
                        "params": captioner.params}
                       for image_id, o in zip(batch, captioner.run(loaded), strict=True)]
            _append(handle, records)
            counts.update(r["reason"] or "ok" for r in records)
            bar.update(len(batch))
    seconds, ok = time.perf_counter() - began, counts.pop("ok", 0)
    summary = {"backend": captioner.name if captioner else config.backend,
               "model": captioner.source if captioner else str(config.model or config.file),
               "output": str(output), "written": True, "images": len(ids), "ok": ok,
               "failed": sum(counts.values()), "failed_reasons": dict(sorted(counts.items())),
               "skipped_done": len(ids) - len(todo), "retried_failed": dropped,
               "recovered_partial_line": recovered,
               "wall_seconds": round(time.perf_counter() - start, 2),
               "captions_per_second": round(len(todo) / seconds, 2) if todo else 0.0,
               "config": config.model_dump(mode="json"), "fingerprints": prepared.fingerprints}
    atomic_write_text(RunFiles(run_dir).captions_summary, json.dumps(summary, indent=2) + "\n")
    return summary
