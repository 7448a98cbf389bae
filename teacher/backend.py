"""The one small interface every teacher backend implements.

A backend turns requests into results and hands each result to a callback as soon as it
exists, so the runner can store it at once: a run killed at any moment loses only the
requests in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt for one sample. Base models get `prompt` (completion style, few-shot);
    chat models get `messages` (OpenAI format; content may hold `image_url` parts)."""

    key: str
    prompt: str | None = None
    messages: list[dict[str, Any]] | None = None
    stop: tuple[str, ...] = ()
    max_tokens: int = 256


@dataclass
class GenerationResult:
    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float = 0.0
    error: str | None = None  # None: answered; else why the request failed

    @property
    def ok(self) -> bool:
        return self.error is None


ResultCallback = Callable[[GenerationRequest, GenerationResult], None]


@dataclass(frozen=True)
class SamplingParams:
    """How a backend decodes: the fields of `teacher.sampling` (factory.sampling_params), and
    `extra` request fields a backend passes on as they are. Part of every fingerprint."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class TeacherBackend(Protocol):
    """What the runner needs from a backend. A backend that depends on something outside the
    process (a server) may also have `check_ready() -> None`, raising CotpdError with what
    to do; the runner calls it before a prompt's first request, never when nothing is asked."""

    name: str

    def fingerprint_parts(self) -> dict[str, Any]:
        """What identifies the model's answers: model path, a hash of its weights' index or
        config, the sampling parameters."""
        ...

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        """Answer every request, calling `on_result` once per request (errors included)."""
        ...
