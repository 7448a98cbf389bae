"""The `openai` teacher backend: any OpenAI-compatible server (vLLM in production) through
LlamaIndex's `OpenAILike`.

Retries run through tenacity (kept, and already the retry library of LlamaIndex): it backs
off exponentially with full jitter, honours `Retry-After` through one small wait strategy,
and stops after `max_retries`. LlamaIndex and the openai client get `max_retries=0`: both
retry on the one replica their client points at (a restarting replica would fail every
request sent to it), and `OpenAILike` hands its `max_retries` to both layers, so their
retries would multiply; LlamaIndex's also waits a fixed 1-20 s within a 60 s budget shorter
than one `timeout_s`. Each attempt here goes to the next replica, only what may pass later is
retried (429, 408, 5xx, timeouts, dropped or refused connections), and whatever is left
becomes a `GenerationResult.error`, so one bad request never stops a run of thousands.

A 200 whose body is no completion is a failed request ("malformed response"); any other
error (a bug of ours, or of the client layers on a well-formed answer) propagates.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import httpx
import openai
from cotpd.teacher.backend import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SamplingParams,
)
from cotpd.teacher.config import TeacherConfig, served_model_name
from cotpd.teacher.registry import register_backend
from cotpd.teacher.server_check import require_server
from llama_index.core.base.llms.types import ChatMessage, ContentBlock, ImageBlock, TextBlock
from llama_index.llms.openai_like import OpenAILike
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_random_exponential

RETRIED_STATUS = frozenset({408, 429})  # and every 5xx
CONTEXT_PATTERN = re.compile(
    r"context length|context window|context_length|too long|maximum.{0,40}tokens", re.I)


@dataclass(frozen=True)
class OpenAIBackendSettings:
    model: str
    base_urls: tuple[str, ...]  # several: data-parallel replicas, used round-robin
    api_key: str = "EMPTY"
    chat: bool = False  # False: /completions (base models, few-shot); True: /chat/completions
    concurrency: int = 16
    timeout_s: float = 120
    max_retries: int = 5
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30
    sampling: SamplingParams = field(default_factory=SamplingParams)


class _Retry(Exception):
    """An attempt failed in a way a later attempt may not: `reason` names it."""

    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.wait_s = reason, wait_s


class _Fail(Exception):
    """An attempt failed in a way no retry can fix."""


class _WaitRetryAfter(wait_base):
    """The server's `Retry-After` when it sent one (at most `cap_s`), else `fallback`."""

    def __init__(self, fallback: wait_base, cap_s: float) -> None:
        self.fallback, self.cap_s = fallback, cap_s

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, _Retry) and error.wait_s is not None:
            return min(error.wait_s, self.cap_s)
        return self.fallback(retry_state)


# The HTTP responses of the attempt running in this task (set per attempt; asyncio gives
# each worker task its own context), so a parse error can be told from a bug of ours.
_RESPONSES: ContextVar[list[httpx.Response] | None] = ContextVar("_RESPONSES", default=None)


async def _remember_response(response: httpx.Response) -> None:
    seen = _RESPONSES.get()
    if seen is not None:
        seen.append(response)


def malformed_reason(response: httpx.Response | None, chat: bool) -> str | None:
    """Why a 200's body is no completion (not JSON, no choices, a choice without its text);
    None when it is one, or when no whole 200 body arrived (then a parse error is not the
    server's)."""
    if response is None or response.status_code != 200:
        return None
    try:
        body = json.loads(response.content)
    except httpx.ResponseNotRead:
        return None
    except ValueError as error:
        return f"not JSON ({error})"
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return "no choices"
    choice = choices[0]
    if chat:
        message = choice.get("message")
        text = message.get("content") if isinstance(message, dict) else None
        if not isinstance(message, dict) or not isinstance(text, str | None):
            return "a choice without a message"
    elif not isinstance(choice.get("text"), str):
        return "a choice without text"
    return None


def to_chat_messages(messages: Sequence[dict[str, Any]]) -> list[ChatMessage]:
    """OpenAI-format dicts to LlamaIndex messages; `image_url` parts become `ImageBlock`s,
    which LlamaIndex sends back out as `image_url` parts with the URL unchanged."""
    converted = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            converted.append(ChatMessage(role=message["role"], content=content or ""))
            continue
        blocks: list[ContentBlock] = []
        for part in content:
            if part.get("type") == "text":
                blocks.append(TextBlock(text=part["text"]))
            elif part.get("type") == "image_url":
                image = part["image_url"]
                image = image if isinstance(image, dict) else {"url": image}
                blocks.append(ImageBlock(url=image["url"], detail=image.get("detail")))
            else:
                raise _Fail(f"bad request: unsupported content part {part.get('type')!r}")
        converted.append(ChatMessage(role=message["role"], blocks=blocks))
    return converted


def _has_images(messages: Sequence[dict[str, Any]]) -> bool:
    return any(isinstance(m.get("content"), list)
               and any(p.get("type") == "image_url" for p in m["content"]) for m in messages)


def _server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return error.message


def _retry_after(error: openai.APIStatusError) -> float | None:
    """`Retry-After` in seconds (vLLM and most proxies send seconds, not an HTTP date)."""
    value = error.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


@register_backend("openai")
class OpenAIBackend:
    """Answers requests over HTTP with `concurrency` requests in flight across replicas."""

    name = "openai"

    @classmethod
    def from_config(cls, config: TeacherConfig, sampling: SamplingParams) -> OpenAIBackend:
        server = config.openai
        return cls(OpenAIBackendSettings(
            model=served_model_name(config), base_urls=tuple(server.base_urls),
            api_key=server.api_key, chat=config.style == "chat", concurrency=server.concurrency,
            timeout_s=server.timeout_s, max_retries=server.max_retries, sampling=sampling))

    def __init__(self, settings: OpenAIBackendSettings) -> None:
        if not settings.base_urls:
            raise ValueError("OpenAIBackendSettings.base_urls is empty")
        self.settings = settings
        self._llms: list[OpenAILike] = []  # one per replica, made per generate() call
        self._turn = 0  # round-robin position; a retry goes to the next replica
        self._server_checked = False

    def fingerprint_parts(self) -> dict[str, Any]:
        # Replicas serve one model, so the URLs are not part of it; the endpoint is (the chat
        # endpoint wraps prompts in the chat template).
        return {"backend": self.name, "model": self.settings.model,
                "endpoint": "chat" if self.settings.chat else "completions",
                "sampling": dataclasses.asdict(self.settings.sampling)}

    def check_ready(self) -> None:
        """Fail in one line unless a replica answers and serves the model (checked once).
        The runner calls it before a prompt's first request; `generate` alone does not, so
        a caller that handles a missing server itself (retries, benchmarks) still can."""
        if not self._server_checked:
            require_server(self.settings.base_urls, self.settings.model, self.settings.api_key)
            self._server_checked = True

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        if requests:
            asyncio.run(self._run(requests, on_result))

    async def _run(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        s = self.settings
        hooks = {"response": [_remember_response]}
        http_clients = [openai.DefaultAsyncHttpxClient(event_hooks=hooks) for _ in s.base_urls]
        self._llms = [
            OpenAILike(model=s.model, api_base=url, api_key=s.api_key, is_chat_model=s.chat,
                       max_retries=0, timeout=s.timeout_s, temperature=s.sampling.temperature,
                       async_http_client=client)
            for url, client in zip(s.base_urls, http_clients, strict=True)]
        self._turn = 0
        pending: Iterator[GenerationRequest] = iter(requests)  # workers share it: no queue

        async def worker() -> None:
            for request in pending:
                on_result(request, await self._answer(request))

        workers = [asyncio.create_task(worker()) for _ in range(min(s.concurrency, len(requests)))]
        try:
            await asyncio.gather(*workers)  # an on_result error stops the run
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for client in http_clients:
                await client.aclose()

    async def _answer(self, request: GenerationRequest) -> GenerationResult:
        """One request with its retries; always a result, never an exception."""
        s = self.settings
        began = time.perf_counter()
        retrying = AsyncRetrying(  # one per request: tenacity keeps per-call statistics
            stop=stop_after_attempt(s.max_retries + 1), retry=retry_if_exception_type(_Retry),
            wait=_WaitRetryAfter(wait_random_exponential(multiplier=s.backoff_base_s,
                                                         max=s.backoff_max_s), s.backoff_max_s),
            reraise=True)
        try:
            result = await retrying(self._attempt, request)
        except _Fail as failure:
            result = GenerationResult(error=str(failure)[:500])
        except _Retry as retry:
            result = GenerationResult(error=f"{retry.reason} after {s.max_retries} retries")
        result.latency_s = time.perf_counter() - began
        return result

    async def _attempt(self, request: GenerationRequest) -> GenerationResult:
        """One HTTP call to the next replica, its failure sorted into `_Retry` or `_Fail`."""
        llm = self._llms[self._turn % len(self._llms)]
        self._turn += 1
        kwargs = self._call_kwargs(request)
        messages = None if request.messages is None else self._messages(request.messages)
        seen: list[httpx.Response] = []
        _RESPONSES.set(seen)
        try:
            async with asyncio.timeout(self.settings.timeout_s):  # bounds slow trickles too
                if messages is not None:
                    response = await llm.achat(messages, **kwargs)
                    text = response.message.content or ""
                else:
                    response = await llm.acomplete(request.prompt or "", formatted=True, **kwargs)
                    text = response.text or ""
        except TimeoutError as error:
            raise _Retry("timeout") from error
        except openai.APITimeoutError as error:
            raise _Retry("timeout") from error
        except openai.APIConnectionError as error:
            raise _Retry("connection error") from error
        except openai.APIStatusError as error:
            status = error.status_code
            if status in RETRIED_STATUS or status >= 500:
                wait = _retry_after(error) if status == 429 else None
                raise _Retry(f"http {status}", wait) from error
            message = _server_message(error)
            if CONTEXT_PATTERN.search(message):
                raise _Fail(f"context_length: {message}") from error
            raise _Fail(f"http {status}: {message}") from error
        except openai.OpenAIError as error:  # anything else the client refuses
            raise _Fail(f"client error: {type(error).__name__}: {error}") from error
        except (ValueError, TypeError, AttributeError, LookupError) as error:
            # The openai client does not validate a 200's body: bad JSON comes out as
            # JSONDecodeError, a wrong shape as whatever LlamaIndex meets reading it. Those
            # are the server's only if the body really is no completion; else a bug: raise.
            reason = malformed_reason(seen[-1] if seen else None, self.settings.chat)
            if reason is None:
                raise
            raise _Fail(f"malformed response: {reason}: {type(error).__name__}: {error}"
                        ) from error
        raw = response.raw  # a completion LlamaIndex has read: choices[0] is there
        choice = raw.choices[0]
        usage = getattr(raw, "usage", None)
        return GenerationResult(
            text=text, finish_reason=getattr(choice, "finish_reason", None),
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None))

    def _messages(self, messages: Sequence[dict[str, Any]]) -> list[ChatMessage]:
        # With chat=False, LlamaIndex flattens messages into one prompt, dropping images.
        if not self.settings.chat and _has_images(messages):
            raise _Fail("bad request: image parts need chat=True")
        try:
            return to_chat_messages(messages)
        except (ValueError, KeyError, TypeError) as error:
            raise _Fail(f"bad request: {type(error).__name__}: {error}") from error

    def _call_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        """Per-call request-body fields. LlamaIndex merges these into the body, but a
        constructor `max_tokens` or `additional_kwargs` would override them, so none is set
        there; parameters the openai client does not know go through `extra_body`."""
        sampling = self.settings.sampling
        kwargs: dict[str, Any] = {"max_tokens": request.max_tokens, "top_p": sampling.top_p,
                                  "seed": sampling.seed}
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if sampling.extra:
            kwargs["extra_body"] = dict(sampling.extra)
        return kwargs
