"""One prompt per augmented copy. A temperature-0 teacher writes the same text for the same
prompt, so copy j of a prompt with `shots: k` in its completion template gets its own choice
of k few-shot examples (all ordered choices, nearest first); a chat prompt gets a line asking
for another version. Each variant has its own version hash, so the store keeps them apart."""

from __future__ import annotations

import itertools
from dataclasses import replace

from cotpd.teacher.catalogue import CatalogPrompt


def example_choices(count: int, shots: int) -> list[tuple[int, ...]]:
    """Every ordered choice of `shots` of `count` examples, consecutive ones first."""
    shots = min(shots, count)
    choices = list(itertools.permutations(range(count), shots))
    return sorted(choices, key=lambda c: (sum((b - a) % count for a, b in itertools.pairwise(c)),
                                          c))


def copy_prompt(prompt: CatalogPrompt, copy: int) -> CatalogPrompt:
    """The prompt for augmented copy `copy` (0-based)."""
    completion = dict(prompt.completion)
    shots = completion.pop("shots", None)
    examples = completion.get("examples", [])
    if shots and examples:
        choices = example_choices(len(examples), int(shots))
        completion["examples"] = [examples[i] for i in choices[copy % len(choices)]]
    chat = prompt.chat if copy == 0 else (
        f"{prompt.chat}\n(Write version {copy + 1}: different words from the obvious one.)")
    return replace(prompt, chat=chat, completion=completion)
