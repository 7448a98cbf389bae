"""Where a stage's teacher answers go: the store, locked against other writers, and the
teacher registered in it. The teach and augment stages both ask through these."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from cotpd.corpus.config import DataConfig
from cotpd.corpus.lock import store_lock
from cotpd.corpus.run_files import RunFiles
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.runner import Teacher
from cotpd.teacher.store import KnowledgeStore


@contextlib.contextmanager
def open_store(config: TeacherConfig, run_dir: Path) -> Iterator[KnowledgeStore]:
    """The configured store (shared by runs and studies), else the run's own, open and
    locked for as long as the block runs."""
    path = config.store or RunFiles(run_dir).store
    with store_lock(path), KnowledgeStore(path) as store:
        yield store


def stage_teacher(config: TeacherConfig, data: DataConfig, store: KnowledgeStore,
                  teacher: Teacher | None = None) -> Teacher:
    """`teacher` (tests, benchmarks) or the configured backend, which reads the dataset's
    images; registered in `store`. Built inside the store's lock, so a stage waiting for
    the store loads no model meanwhile."""
    if teacher is None:
        from cotpd.teacher.factory import build_teacher

        teacher = build_teacher(config, images_dir=data.images_dir())
    store.register_teacher(teacher.fingerprint, config.name, teacher.backend.fingerprint_parts())
    return teacher
