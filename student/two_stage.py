"""Two-stage students: the teacher distributions they distil from, cached, either from a
trained teacher folder or from K cross-fitted knowledge-view teachers trained in the run."""

from __future__ import annotations

import json
import random
from pathlib import Path

from cotpd.corpus.files import atomic_write_text
from cotpd.corpus.fingerprint import sha256_bytes
from cotpd.corpus.records import Sample
from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.schema import config_to_yaml, result_settings
from cotpd.student.config import StudentConfig
from cotpd.student.saving import save_student
from cotpd.student.teacher_scores import (
    TeacherScores,
    cached_scores,
    load_teacher,
    score,
    teacher_scores,
)
from cotpd.student.train import fit


def two_stage_scores(config: StudentConfig, task: str, train: list[Sample],
                     dev: list[Sample], extra: list[Sample], labels: list[str],
                     files: RunFiles, seed: int) -> TeacherScores:
    """The cached teacher distributions for train + extra: from the given teacher folder,
    or from K cross-fitted teachers trained here (each scores the fold it did not see)."""
    cache_dir = config.distill.cache_dir or files.teacher_cache
    samples = train + extra
    if config.distill.teacher is not None:
        return teacher_scores(config.distill.teacher, samples, labels, cache_dir,
                              trust_remote_code=config.trust_remote_code)
    folds = config.distill.folds
    teacher_config = fold_teacher_config(config)
    # Whatever shapes the teachers, not how this run resumes or other operational keys.
    shaping = result_settings(teacher_config)
    key = sha256_bytes(f"folds{folds}:seed{seed}:{json.dumps(shaping, sort_keys=True)}"
                       .encode())

    def compute() -> list:
        return cross_fitted_scores(teacher_config, task, train, dev, extra, labels,
                                   cache_dir / f"folds_{key[:16]}", folds, seed)

    return cached_scores(f"in-run:{key}", samples, labels, cache_dir, compute)


def fold_teacher_config(config: StudentConfig) -> StudentConfig:
    """The student's settings as a plain +CoT (knowledge view) model."""
    data = config.model_dump()
    data.update(variant="cot", infer_view="auto", distill={})
    return StudentConfig.model_validate(data)


def cross_fitted_scores(config: StudentConfig, task: str, train: list[Sample],
                        dev: list[Sample], extra: list[Sample], labels: list[str],
                        folder: Path, folds: int, seed: int) -> list:
    """Train K knowledge-view teachers, each on all folds but one, and score the held-out
    fold with it (unlabelled sentences: the first fold's teacher); K = 1 is one teacher on
    every sentence. A fold whose teacher folder is complete is not trained again."""
    order = list(range(len(train)))
    random.Random(seed).shuffle(order)
    fold_of = {index: position % folds for position, index in enumerate(order)}
    every = folds == 1
    scores: list = [None] * (len(train) + len(extra))
    pool = train + extra
    plan = []
    for fold in range(folds):
        model_dir = folder / f"fold{fold}" / "model"
        inside = [s for i, s in enumerate(train) if every or fold_of[i] != fold]
        if not (model_dir / "student.json").is_file():
            fitted = fit(config, task, inside, dev, labels,
                         folder / f"fold{fold}" / "checkpoints", seed + fold)
            save_student(model_dir, fitted.model, fitted.tokenizer, labels,
                         config_to_yaml(config))
        teacher = load_teacher(model_dir, labels, config.trust_remote_code)
        held = [i for i in range(len(train)) if fold_of[i] == fold]
        held += [len(train) + i for i in range(len(extra))] if fold == 0 else []
        for index, values in zip(held, score(teacher, [pool[i] for i in held]), strict=True):
            scores[index] = values
        plan.append({"fold": fold, "trained_on": len(inside), "scored": len(held)})
    atomic_write_text(folder / "folds.json", json.dumps(plan, indent=2) + "\n")
    return scores
