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
from cotpd.corpus.lock import store_lock
from cotpd.corpus.prepare import prepare_dataset
from cotpd.corpus.records import Sample
from cotpd.corpus.registry import get_dataset
from cotpd.corpus.run_files import RunFiles
from cotpd.teacher.catalogue import load_catalogue
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.runner import Teacher
from cotpd.teacher.store import KnowledgeStore

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


def _build_teacher(data: DataConfig, config: TeacherConfig) -> Teacher:
    if config.backend == "import":
        raise CotpdError("teacher.backend 'import' answers no prompts: augmentation needs a "
                         "teacher model (embedded, transformers, openai or vllm)")
    from cotpd.teacher.factory import build_teacher

    spec = get_dataset(data.dataset)
    images = spec.directory_under(data.data_root) / (spec.images or "images")
    return build_teacher(config, images_dir=images)


def augment_run(augment: AugmentConfig | None, teacher_config: TeacherConfig, data: DataConfig,
                run_dir: Path, teacher: Teacher | None = None) -> dict[str, Any]:
    """Augment the training split as configured; returns the summary. `teacher` overrides
    the backend built from `teacher_config` (tests, benchmarks)."""
    config = require_augment(augment)
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
    teacher = teacher or _build_teacher(data, teacher_config)
    store_path = teacher_config.store or RunFiles(run_dir).store
    counts = {kind: TypeCounts() for kind in ("style", "entity", "image")}
    made: dict[str, list[Sample]] = {kind: [] for kind in counts}
    extra: dict[str, Any] = {}
    with store_lock(store_path), KnowledgeStore(store_path) as store:
        store.register_teacher(teacher.fingerprint, teacher_config.name,
                               teacher.backend.fingerprint_parts())
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
    atomic_write_text(RunFiles(run_dir).augmented, "".join(lines))
    summary = {"teacher": teacher_config.name, "fingerprint": teacher.fingerprint,
               "store": str(store_path), "train_samples": len(train), "sources": len(sources),
               "times": config.times.model_dump(), "written": len(lines),
               "types": {kind: c.to_dict() for kind, c in counts.items()
                         if getattr(config.times, kind)},
               **extra, "wall_seconds": round(time.perf_counter() - start, 2),
               "fingerprints": prepared.fingerprints}
    atomic_write_text(RunFiles(run_dir).augment_summary, json.dumps(summary, indent=2) + "\n")
    return summary


def _line(sample: Sample, kind: str, fingerprint: str) -> str:
    source_id = sample.id.rsplit("~", 1)[0]
    provenance = {"source_id": source_id, "augmentation": kind, "teacher": fingerprint}
    if kind == "image":
        provenance["image"] = "generated"
    return json.dumps({**sample.to_dict(), "provenance": provenance}, ensure_ascii=False) + "\n"
