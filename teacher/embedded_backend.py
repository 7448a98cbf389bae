"""The `embedded` teacher backend: the transformers backend on the embedded Gemma 3 270M
(`teacher.embedded`), which needs no model folder and no download."""

from __future__ import annotations

from cotpd.teacher.backend import SamplingParams
from cotpd.teacher.config import TeacherConfig
from cotpd.teacher.embedded import embedded_gemma_folder
from cotpd.teacher.registry import register_backend
from cotpd.teacher.transformers_backend import TransformersBackend


@register_backend("embedded")
class EmbeddedBackend(TransformersBackend):
    """Keeps `name = "transformers"`: its answers are stored under the same fingerprint as
    before the registry, the transformers backend on the dequantized Gemma folder."""

    @classmethod
    def from_config(cls, config: TeacherConfig, sampling: SamplingParams) -> EmbeddedBackend:
        return cls(embedded_gemma_folder(), sampling, batch_size=config.batch_size,
                   trust_remote_code=config.trust_remote_code)
