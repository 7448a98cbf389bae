"""Telling a malformed server answer from a bug of ours.

The openai client does not validate a 200's body: bad JSON comes out as JSONDecodeError, a
wrong shape as whatever LlamaIndex meets reading it. Such an error is the server's only if
the body really is no completion, so each attempt keeps the HTTP responses it saw.
"""

from __future__ import annotations

import json
from contextvars import ContextVar

import httpx

# The HTTP responses of the attempt running in this task (set per attempt; asyncio gives
# each worker task its own context).
_RESPONSES: ContextVar[list[httpx.Response] | None] = ContextVar("_RESPONSES", default=None)


def watch_responses() -> list[httpx.Response]:
    """Start recording this task's responses; the list fills as they arrive."""
    seen: list[httpx.Response] = []
    _RESPONSES.set(seen)
    return seen


async def remember_response(response: httpx.Response) -> None:
    """An httpx `response` event hook."""
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
