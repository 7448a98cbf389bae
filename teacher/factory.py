"""Building the configured teacher backend, with its fingerprint."""

from __future__ import annotations

from pathlib import Path

from cotpd.teacher.backend import SamplingParams
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.registry import backend_class
from cotpd.teacher.runner import Teacher, teacher_fingerprint


def sampling_params(config: TeacherConfig) -> SamplingParams:
    s = config.sampling
    return SamplingParams(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens,
                          seed=s.seed)


def build_teacher(config: TeacherConfig, images_dir: Path | None = None) -> Teacher:
    """The backend registered as `config.backend` (its module imported only now)."""
    sampling = sampling_params(config)
    backend = backend_class(config.backend).from_config(config, sampling)
    return Teacher(backend=backend, fingerprint=teacher_fingerprint(backend.fingerprint_parts()),
                   style=config.style, image_input=config.image_input, images_dir=images_dir,
                   default_max_tokens=config.sampling.max_tokens)

