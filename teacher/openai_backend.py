"""The `openai` teacher backend: any OpenAI-compatible server (vLLM in production) through
LlamaIndex's `OpenAILike`, `teacher.openai.concurrency` requests in flight across replicas.

LlamaIndex and the openai client get `max_retries=0`; retries are ours (openai_retry.py).
Both layers retry on the one replica their client points at (a restarting replica would
fail every request sent to it), and `OpenAILike` hands its `max_retries` to both, so their
retries would multiply; LlamaIndex's also waits a fixed 1-20 s within a 60 s budget shorter
than one `timeout_s`. Each attempt here goes to the next replica, and whatever failure is
left becomes a `GenerationResult.error`, so one bad request never stops a run of thousands.

A 200 whose body is no completion is a failed request ("malformed response",
openai_validation.py); any other error (a bug of ours, or of the client layers on a
well-formed answer) propagates.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Iterator, Sequence
from typing import Any

import openai
from cotpd.teacher.backend import (
    GenerationRequest,
    GenerationResult,
    ResultCallback,
    SamplingParams,
)
from cotpd.teacher.config import OpenAIServerConfig, TeacherConfig, served_model_name
from cotpd.teacher.openai_messages import has_images, to_chat_messages
from cotpd.teacher.openai_retry import Retryable, Unretryable, retrying, status_failure
from cotpd.teacher.openai_validation import (
    malformed_reason,
    remember_response,
    watch_responses,
)
from cotpd.teacher.registry import register_backend
from cotpd.teacher.server_check import require_server
from llama_index.core.base.llms.types import ChatMessage
from llama_index.llms.openai_like import OpenAILike


@register_backend("openai")
class OpenAIBackend:
    """Asks `model` on the servers of `server`: /completions (base models, few-shot), or
    /chat/completions when `chat`."""

    name = "openai"

    @classmethod
    def from_config(cls, config: TeacherConfig, sampling: SamplingParams) -> OpenAIBackend:
        return cls(config.openai, served_model_name(config), chat=config.style == "chat",
                   sampling=sampling)

    def __init__(self, server: OpenAIServerConfig, model: str, chat: bool = False,
                 sampling: SamplingParams | None = None) -> None:
        if not server.base_urls:
            raise ValueError("teacher.openai.base_urls is empty")
        self.server, self.model, self.chat = server, model, chat
        self.sampling = sampling or SamplingParams()
        self._llms: list[OpenAILike] = []  # one per replica, made per generate() call
        self._turn = 0  # round-robin position; a retry goes to the next replica
        self._server_checked = False

    def fingerprint_parts(self) -> dict[str, Any]:
        # Replicas serve one model, so the URLs are not part of it; the endpoint is (the chat
        # endpoint wraps prompts in the chat template).
        return {"backend": self.name, "model": self.model,
                "endpoint": "chat" if self.chat else "completions",
                "sampling": dataclasses.asdict(self.sampling)}

    def check_ready(self) -> None:
        """Fail in one line unless a replica answers and serves the model (checked once).
        The runner calls it before a prompt's first request; `generate` alone does not, so
        a caller that handles a missing server itself (retries, benchmarks) still can."""
        if not self._server_checked:
            require_server(self.server.base_urls, self.model, self.server.api_key)
            self._server_checked = True

    def generate(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        if requests:
            asyncio.run(self._run(requests, on_result))

    async def _run(self, requests: Sequence[GenerationRequest], on_result: ResultCallback) -> None:
        s = self.server
        hooks = {"response": [remember_response]}
        http_clients = [openai.DefaultAsyncHttpxClient(event_hooks=hooks) for _ in s.base_urls]
        self._llms = [
            OpenAILike(model=self.model, api_base=url, api_key=s.api_key,
                       is_chat_model=self.chat, max_retries=0, timeout=s.timeout_s,
                       temperature=self.sampling.temperature, async_http_client=client)
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
        s = self.server
        began = time.perf_counter()
        try:
            result = await retrying(s.max_retries, s.backoff_base_s, s.backoff_max_s)(
                self._attempt, request)
        except Unretryable as failure:
            result = GenerationResult(error=str(failure)[:500])
        except Retryable as retry:
            result = GenerationResult(error=f"{retry.reason} after {s.max_retries} retries")
        result.latency_s = time.perf_counter() - began
        return result

    async def _attempt(self, request: GenerationRequest) -> GenerationResult:
        """One HTTP call to the next replica, its failure sorted into Retryable or
        Unretryable."""
        llm = self._llms[self._turn % len(self._llms)]
        self._turn += 1
        kwargs = self._call_kwargs(request)
        messages = None if request.messages is None else self._messages(request.messages)
        seen = watch_responses()
        try:
            async with asyncio.timeout(self.server.timeout_s):  # bounds slow trickles too
                if messages is not None:
                    response = await llm.achat(messages, **kwargs)
                    text = response.message.content or ""
                else:
                    response = await llm.acomplete(request.prompt or "", formatted=True, **kwargs)
                    text = response.text or ""
        except (TimeoutError, openai.APITimeoutError) as error:
            raise Retryable("timeout") from error
        except openai.APIConnectionError as error:
            raise Retryable("connection error") from error
        except openai.APIStatusError as error:
            raise status_failure(error) from error
        except openai.OpenAIError as error:  # anything else the client refuses
            raise Unretryable(f"client error: {type(error).__name__}: {error}") from error
        except (ValueError, TypeError, AttributeError, LookupError) as error:
            reason = malformed_reason(seen[-1] if seen else None, self.chat)
            if reason is None:  # a well-formed answer: the error is a bug, not the server's
                raise
            raise Unretryable(f"malformed response: {reason}: {type(error).__name__}: {error}"
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
        if not self.chat and has_images(messages):
            raise Unretryable("bad request: image parts need chat=True")
        try:
            return to_chat_messages(messages)
        except (ValueError, KeyError, TypeError) as error:
            raise Unretryable(f"bad request: {type(error).__name__}: {error}") from error

    def _call_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        """Per-call request-body fields. LlamaIndex merges these into the body, but a
        constructor `max_tokens` or `additional_kwargs` would override them, so none is set
        there; parameters the openai client does not know go through `extra_body`."""
        kwargs: dict[str, Any] = {"max_tokens": request.max_tokens,
                                  "top_p": self.sampling.top_p, "seed": self.sampling.seed}
        if request.stop:
            kwargs["stop"] = list(request.stop)
        if self.sampling.extra:
            kwargs["extra_body"] = dict(self.sampling.extra)
        return kwargs
