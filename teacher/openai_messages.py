"""OpenAI-format chat messages to LlamaIndex's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, ContentBlock, ImageBlock, TextBlock


def to_chat_messages(messages: Sequence[dict[str, Any]]) -> list[ChatMessage]:
    """OpenAI-format dicts to LlamaIndex messages; `image_url` parts become `ImageBlock`s,
    which LlamaIndex sends back out as `image_url` parts with the URL unchanged. An unknown
    part type is a ValueError."""
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
                raise ValueError(f"unsupported content part {part.get('type')!r}")
        converted.append(ChatMessage(role=message["role"], blocks=blocks))
    return converted


def has_images(messages: Sequence[dict[str, Any]]) -> bool:
    return any(isinstance(m.get("content"), list)
               and any(p.get("type") == "image_url" for p in m["content"]) for m in messages)
