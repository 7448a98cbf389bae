"""The teacher stage's config section."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from corpus.embedded_models import resolve_model_path
from corpus.errors import CotpdError
from corpus.schema import ModelPathMarker, StrictModel
from teacher.registry import backend_names, unknown_backend_message

EXPLAIN_PROMPTS = ("noun", "sentence", "multimodal")


class SamplingConfig(StrictModel):
    temperature: float = Field(0.0, ge=0.0)  # the paper's temperature-0 teacher
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(96, ge=1)  # a prompt's own max_tokens, when set, wins
    seed: int = 0


class OpenAIServerConfig(StrictModel):
    base_urls: list[str] = ["http://127.0.0.1:8000/v1"]  # several: data-parallel replicas
    model: str | None = None  # the served model name; None: teacher.model
    api_key: str = "EMPTY"
    concurrency: int = Field(64, ge=1)  # measured: 0.91 of vLLM-CPU saturation at 64
    timeout_s: float = Field(120.0, gt=0)
    max_retries: int = Field(5, ge=0)


class KnowledgeConfig(StrictModel):
    """How the explanations become the student's knowledge text."""

    prompts: list[str] = list(EXPLAIN_PROMPTS)
    budget_tokens: int = Field(192, ge=8)  # measured with the student's tokenizer
    summarize: bool = True  # over budget: ask the summarize prompt first, then truncate
    # Answers the teacher cut off at max_tokens: "keep" them in the knowledge, or "drop"
    # them (they stay in the store, counted; `--retry-failed` asks them with more tokens).
    truncated_answers: Literal["keep", "drop"] = "keep"


class TeacherConfig(StrictModel):
    name: str = "gemma3-270m"  # a label for studies; the fingerprint identifies the model
    # A name registered in teacher.registry: embedded, transformers, openai, vllm, import.
    backend: str = "embedded"
    model: Annotated[str | None, ModelPathMarker()] = None  # local folder (transformers, vllm)
    style: Literal["completion", "chat"] = "completion"  # completion: few-shot, base models
    image_input: Literal["caption", "image"] = "caption"  # image: vision-language teachers
    prompt_files: list[Path] = []  # per-teacher overrides merged over the default catalogue
    sampling: SamplingConfig = SamplingConfig()
    batch_size: int = Field(8, ge=1)  # in-process backends
    openai: OpenAIServerConfig = OpenAIServerConfig()
    import_files: list[Path] = []  # backend import: JSONL {id or img_id, knowledge}
    captions: Path | None = None  # for the multimodal prompt: `<imgid>.jpg :caption` or JSONL
    store: Path | None = None  # None: <run>/teacher/store.sqlite
    knowledge: KnowledgeConfig = KnowledgeConfig()
    trust_remote_code: bool = False

    @field_validator("backend")
    @classmethod
    def _backend_is_registered(cls, name: str) -> str:
        if name not in backend_names():
            raise ValueError(unknown_backend_message(name))
        return name


def served_model_name(config: TeacherConfig) -> str:
    """The model name an OpenAI-compatible server is asked for: `teacher.openai.model`, else
    `teacher.model`, else `teacher.name`."""
    return config.openai.model or config.model or config.name


def model_folder(config: TeacherConfig) -> Path:
    """`teacher.model`, resolved: the local folder the in-process backends load."""
    if not config.model:
        raise CotpdError(f"teacher.model: backend {config.backend!r} needs a local model folder")
    return resolve_model_path(config.model, "teacher.model")
