"""The `openai` teacher backend: any OpenAI-compatible server (vLLM in production) through
LlamaIndex's `OpenAILike`.

Retries are ours, not LlamaIndex's or the openai client's (both get `max_retries=0`): theirs
retry on every error for up to 60 s with no regard for `Retry-After`, and would retry a 400
that can never succeed. Ours retry only what may pass later (429, 408, 5xx, timeouts, dropped
or refused connections: a vLLM replica restarting), back off with full jitter, move the retry
to the next replica, and turn whatever is left into a `GenerationResult.error`, so one bad
request never stops a run of thousands.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
from llama_index.core.base.llms.types import ChatMessage, ContentBlock, ImageBlock, TextBlock
from llama_index.llms.openai_like import OpenAILike

from teacher.backend import GenerationRequest, GenerationResult, ResultCallback, SamplingParams

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


class OpenAIBackend:
    """Answers requests over HTTP with `concurrency` requests in flight across replicas."""

    name = "openai"

    def __init__(self, settings: OpenAIBackendSettings) -> None:
        if not settings.base_urls:
            raise ValueError("OpenAIBackendSettings.base_urls is empty")
        self.settings = settings
        self._llms: list[OpenAILike] = []  # one per replica, made per generate() call
        self._turn = 0  # round-robin position; a retry goes to the next replica

    def fingerprint_parts(self) -> dict[str, Any]:
        # Replicas serve one model, so the URLs are not part of it; the endpoint is (the chat
        # endpoint wraps prompts in the chat template).
        return {"backend": self.name, "model": self.settings.model,
                "endpoint": "chat" if self.settings.chat else "completions",
                "sampling": dataclasses.asdict(self.settings.sampling)}

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        if requests:
            asyncio.run(self._run(requests, on_result))

    async def _run(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        s = self.settings
        http_clients = [openai.DefaultAsyncHttpxClient() for _ in s.base_urls]
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
        attempt = 0
        while True:
            try:
                result = await self._attempt(request)
            except _Fail as failure:
                result = GenerationResult(error=str(failure)[:500])
            except _Retry as retry:
                if attempt >= s.max_retries:
                    result = GenerationResult(
                        error=f"{retry.reason} after {s.max_retries} retries")
                else:
                    backoff = random.uniform(0, min(s.backoff_max_s, s.backoff_base_s * 2**attempt))
                    wait = backoff if retry.wait_s is None else min(retry.wait_s, s.backoff_max_s)
                    attempt += 1
                    await asyncio.sleep(wait)
                    continue
            result.latency_s = time.perf_counter() - began
            return result

    async def _attempt(self, request: GenerationRequest) -> GenerationResult:
        """One HTTP call to the next replica, its failure sorted into `_Retry` or `_Fail`."""
        llm = self._llms[self._turn % len(self._llms)]
        self._turn += 1
        kwargs = self._call_kwargs(request)
        messages = None if request.messages is None else self._messages(request.messages)
        try:
            async with asyncio.timeout(self.settings.timeout_s):  # bounds slow trickles too
                if messages is not None:
                    response = await llm.achat(messages, **kwargs)
                    text = response.message.content or ""
                else:
                    response = await llm.acomplete(request.prompt or "", formatted=True, **kwargs)
                    text = response.text or ""
            raw = response.raw
            choice = raw.choices[0]
            usage = getattr(raw, "usage", None)
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
        except (json.JSONDecodeError, AttributeError, TypeError, IndexError, KeyError) as error:
            # A 200 whose body is not JSON (the openai client raises JSONDecodeError) or not
            # shaped like a completion (it returns the text or an unvalidated model).
            raise _Fail(f"malformed response: {type(error).__name__}: {error}") from error
        except (openai.OpenAIError, ValueError) as error:  # anything else the client refuses
            raise _Fail(f"client error: {type(error).__name__}: {error}") from error
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
