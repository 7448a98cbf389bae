"""Building the configured teacher backend, with its fingerprint."""

from __future__ import annotations

from pathlib import Path

from corpus.embedded_models import resolve_model_path
from corpus.errors import CotpdError
from teacher.backend import SamplingParams
from teacher.config import TeacherConfig
from teacher.runner import Teacher, teacher_fingerprint


def sampling_params(config: TeacherConfig) -> SamplingParams:
    s = config.sampling
    return SamplingParams(temperature=s.temperature, top_p=s.top_p, max_tokens=s.max_tokens,
                          seed=s.seed)


def build_teacher(config: TeacherConfig, images_dir: Path | None = None) -> Teacher:
    """The backend of `config.backend` (not `import`, which needs no model)."""
    sampling = sampling_params(config)
    if config.backend in ("embedded", "transformers"):
        from teacher.transformers_backend import TransformersBackend

        if config.backend == "embedded":
            from teacher.embedded import embedded_gemma_folder

            folder = embedded_gemma_folder()
        else:
            folder = _model_folder(config)
        backend = TransformersBackend(folder, sampling, batch_size=config.batch_size,
                                      trust_remote_code=config.trust_remote_code)
    elif config.backend == "openai":
        from teacher.openai_backend import OpenAIBackend, OpenAIBackendSettings

        server = config.openai
        backend = OpenAIBackend(OpenAIBackendSettings(
            model=server.model or config.model or config.name, base_urls=tuple(server.base_urls),
            api_key=server.api_key, chat=config.style == "chat", concurrency=server.concurrency,
            timeout_s=server.timeout_s, max_retries=server.max_retries, sampling=sampling))
    elif config.backend == "vllm":
        from teacher.vllm_backend import VLLMBackend

        backend = VLLMBackend(_model_folder(config), sampling,
                              trust_remote_code=config.trust_remote_code)
    else:
        raise CotpdError("the import backend answers no prompts; use import_knowledge")
    return Teacher(backend=backend, fingerprint=teacher_fingerprint(backend.fingerprint_parts()),
                   style=config.style, image_input=config.image_input, images_dir=images_dir,
                   default_max_tokens=config.sampling.max_tokens)


def _model_folder(config: TeacherConfig) -> Path:
    if not config.model:
        raise CotpdError(f"teacher.model: backend {config.backend!r} needs a local model folder")
    return resolve_model_path(config.model, "teacher.model")
