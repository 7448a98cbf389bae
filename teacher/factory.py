"""Building the configured teacher backend, with its fingerprint."""

from __future__ import annotations

from pathlib import Path

from cotpd.teacher.backend import SamplingParams
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.registry import backend_class
from cotpd.teacher.runner import Teacher, teacher_fingerprint


def sampling_params(config: TeacherConfig) -> SamplingParams:
    # Every key of teacher.sampling is a SamplingParams field: a key added to one and not the
    # other fails here, not in a fingerprint that quietly left it out.
    return SamplingParams(**config.sampling.model_dump())


def build_teacher(config: TeacherConfig, images_dir: Path | None = None) -> Teacher:
    """The backend registered as `config.backend` (its module imported only now)."""
    sampling = sampling_params(config)
    backend = backend_class(config.backend).from_config(config, sampling)
    return Teacher(backend=backend, fingerprint=teacher_fingerprint(backend.fingerprint_parts()),
                   style=config.style, image_input=config.image_input, images_dir=images_dir,
                   default_max_tokens=config.sampling.max_tokens)
