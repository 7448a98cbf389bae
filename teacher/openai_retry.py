"""The openai backend's retry policy: which failures a later attempt may fix, and how long
to wait before it.

Retries run through tenacity (already the retry library of LlamaIndex): exponential backoff
with full jitter, the server's `Retry-After` honoured, a stop after `max_retries`. Only what
may pass later is retried (429, 408, 5xx, timeouts, dropped or refused connections); the
rest fails the request at once.
"""

from __future__ import annotations

import re

import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_random_exponential

RETRIED_STATUS = frozenset({408, 429})  # and every 5xx
CONTEXT_PATTERN = re.compile(
    r"context length|context window|context_length|too long|maximum.{0,40}tokens", re.I)


class Retryable(Exception):
    """An attempt failed in a way a later attempt may not: `reason` names it."""

    def __init__(self, reason: str, wait_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason, self.wait_s = reason, wait_s


class Unretryable(Exception):
    """An attempt failed in a way no retry can fix."""


class WaitRetryAfter(wait_base):
    """The server's `Retry-After` when it sent one (at most `cap_s`), else `fallback`."""

    def __init__(self, fallback: wait_base, cap_s: float) -> None:
        self.fallback, self.cap_s = fallback, cap_s

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, Retryable) and error.wait_s is not None:
            return min(error.wait_s, self.cap_s)
        return self.fallback(retry_state)


def retrying(max_retries: int, backoff_base_s: float, backoff_max_s: float) -> AsyncRetrying:
    """A fresh policy for one request (tenacity keeps per-call statistics on it)."""
    backoff = wait_random_exponential(multiplier=backoff_base_s, max=backoff_max_s)
    return AsyncRetrying(stop=stop_after_attempt(max_retries + 1),
                         retry=retry_if_exception_type(Retryable),
                         wait=WaitRetryAfter(backoff, backoff_max_s), reraise=True)


def status_failure(error: openai.APIStatusError) -> Retryable | Unretryable:
    """An HTTP error status sorted: retried (408, 429, 5xx) or final (the rest)."""
    status = error.status_code
    if status in RETRIED_STATUS or status >= 500:
        return Retryable(f"http {status}", retry_after(error) if status == 429 else None)
    message = server_message(error)
    if CONTEXT_PATTERN.search(message):
        return Unretryable(f"context_length: {message}")
    return Unretryable(f"http {status}: {message}")


def server_message(error: openai.APIStatusError) -> str:
    body = error.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return error.message


def retry_after(error: openai.APIStatusError) -> float | None:
    """`Retry-After` in seconds (vLLM and most proxies send seconds, not an HTTP date)."""
    value = error.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
