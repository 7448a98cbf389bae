"""The augment stage: training samples -> `<run>/augment/train.jsonl` (augmented samples
only, each with its provenance) and `<run>/augment/summary.json`. Every teacher answer goes
through the teach stage's store, so a re-run (or a larger `times`) asks only what is new."""

from __future__ import annotations

import json
import logging
import random
import time
from pathlib import Path
from typing import Any

from cotpd.augment.config import AugmentConfig
from cotpd.augment.counts import TypeCounts
from cotpd.augment.entity import entity_copies
from cotpd.augment.rewrite import image_copies, style_copies
from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.files import atomic_write_text, read_samples_jsonl
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import Sample
from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.stage_result import StageResult
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.runner import Teacher
from cotpd.teacher.session import open_store, stage_teacher

logger = logging.getLogger(__name__)


def require_augment(config: AugmentConfig | None) -> AugmentConfig:
    if config is None:
        raise CotpdError("the config has no augment section: add `augment:` with times, e.g. "
                         "--set augment.times.style=1")
    return config


def choose_sources(train: list[Sample], config: AugmentConfig) -> list[Sample]:
    """All training samples, or a seeded choice of `config.sources` of them in file order."""
    if config.sources is None or config.sources >= len(train):
        return list(train)
    chosen = set(random.Random(config.seed).sample(range(len(train)), config.sources))
    return [s for i, s in enumerate(train) if i in chosen]


def run(config: AugmentConfig | None, data: DataConfig, run_dir: Path, *,
        teacher_config: TeacherConfig, teacher: Teacher | None = None) -> StageResult:
    """Augment the training split as configured; its `summary` is also
    `<run>/augment/summary.json`. `teacher` overrides the backend built from
    `teacher_config` (tests, benchmarks)."""
    config = require_augment(config)
    prepared = prepare_dataset(data, run_dir)
    train = read_samples_jsonl(prepared.data_dir / "train.jsonl")  # only train is augmented
    sources = choose_sources(train, config)
    logger.info("%d training samples, %d chosen as sources; copies per source: %s", len(train),
                len(sources), config.times.model_dump())
    catalogue = load_catalogue(teacher_config.prompt_files)
    start = time.perf_counter()
    if not any(config.times.model_dump().values()):
        raise CotpdError("augment.times: every type is 0, so there is nothing to augment; "
                         "set augment.times.style/entity/image, or remove the augment section")
    if teacher is None and teacher_config.backend == "import":
        raise CotpdError("teacher.backend 'import' answers no prompts: augmentation needs a "
                         "teacher model (embedded, transformers, openai or vllm)")
    counts = {kind: TypeCounts() for kind in ("style", "entity", "image")}
    made: dict[str, list[Sample]] = {kind: [] for kind in counts}
    extra: dict[str, Any] = {}
    with open_store(teacher_config, run_dir) as store:
        teacher = stage_teacher(teacher_config, data, store, teacher)
        if config.times.style:
            made["style"] = style_copies(sources, config.times.style, catalogue["style"],
                                         teacher, store, counts["style"])
        if config.times.entity:
            made["entity"], extra["entity"] = entity_copies(
                train, sources, config, catalogue, teacher, store, counts["entity"])
        if config.times.image:
            made["image"] = image_copies(sources, config.times.image, catalogue["image"],
                                         teacher, store, counts["image"])
    lines = [_line(sample, kind, teacher.fingerprint) for kind, samples in made.items()
             for sample in samples]
    files = RunFiles(run_dir)
    atomic_write_text(files.augmented, "".join(lines))
    seconds = round(time.perf_counter() - start, 2)
    summary = {"teacher": teacher_config.name, "fingerprint": teacher.fingerprint,
               "store": str(store.path), "train_samples": len(train), "sources": len(sources),
               "times": config.times.model_dump(), "written": len(lines),
               "types": {kind: c.to_dict() for kind, c in counts.items()
                         if getattr(config.times, kind)},
               **extra, "wall_seconds": seconds, "fingerprints": prepared.fingerprints}
    atomic_write_text(files.augment_summary, json.dumps(summary, indent=2) + "\n")
    return StageResult("augment", {"augmented": files.augmented, "summary": files.augment_summary},
                       {"train_samples": len(train), "sources": len(sources),
                        "written": len(lines)},
                       prepared.fingerprints, seconds, summary)


def _line(sample: Sample, kind: str, fingerprint: str) -> str:
    source_id = sample.id.rsplit("~", 1)[0]
    provenance = {"source_id": source_id, "augmentation": kind, "teacher": fingerprint}
    if kind == "image":
        provenance["image"] = "generated"
    return json.dumps({**sample.to_dict(), "provenance": provenance}, ensure_ascii=False) + "\n"
