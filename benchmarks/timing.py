"""What the speed benchmarks share: one pass of a plain token classifier over sentences, and
a call timed in wall and CPU seconds."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any


def plain_pass(model: Any, tokenizer: Any, sentences: Sequence[list[str]], batch_size: int,
               max_length: int, order: Sequence[int] | None = None) -> Callable[[], None]:
    """A call that labels `sentences` (lists of words) with a plain
    AutoModelForTokenClassification, `batch_size` at a time, in `order` (default: input order;
    the order is computed by the caller, outside any timing), tokenizer call included."""
    import torch

    order = list(range(len(sentences))) if order is None else list(order)

    def run() -> None:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                words = [sentences[i] for i in order[start:start + batch_size]]
                batch = tokenizer(words, is_split_into_words=True, padding=True,
                                  truncation=True, max_length=max_length, return_tensors="pt")
                model(**batch).logits.argmax(-1)
    return run


def timed(function: Callable[[], Any]) -> tuple[Any, float, float]:
    """(result, wall seconds, CPU seconds of this process): on a machine shared with other
    jobs, wall time mostly measures how long the other jobs held the cores."""
    start, cpu_start = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - start, time.process_time() - cpu_start
