"""From stored explanations to the student's knowledge text.

The noun, sentence and multimodal answers of a sample (and an MRE instance's pair answer)
are joined with section markers. A text longer than the student's budget (counted with the
student's tokenizer) is summarized with the summarize prompt (stored and cached like any
other prompt), and truncated if still too long. Every case is counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from cotpd.corpus.records import Sample

SECTION_TITLES = {"noun": "Words", "sentence": "Background", "multimodal": "Image",
                  "pair": "Pair", "imported": "Knowledge"}


def drop_repeated_lines(text: str) -> tuple[str, int]:
    """The answer with each line kept once (first copy, in order), and how many copies were
    dropped. A small base model can loop on one line until max_tokens; the store keeps the
    answer as written, the student reads it once."""
    lines = text.split("\n")
    seen: set[str] = set()
    kept: list[str] = []
    for line in lines:
        key = " ".join(line.split())
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(line)
    dropped = len(lines) - len(kept)
    return ("\n".join(kept) if dropped else text), dropped


def join_sections(answers: dict[str, str], order: Sequence[str]) -> str:
    """`[Words] ... [Background] ... [Image] ...` in the configured order."""
    parts = [f"[{SECTION_TITLES.get(p, p)}] {answers[p].strip()}" for p in order
             if answers.get(p, "").strip()]
    return " ".join(parts)


def assemble_knowledge(
    samples: Sequence[Sample],
    answers: dict[str, dict[str, str]],
    order: Sequence[str],
    count_tokens: Callable[[str], int],
    budget: int,
    summarize: Callable[[dict[str, str]], dict[str, str]] | None,
    truncate: Callable[[str, int], str],
) -> tuple[dict[str, str], Counter[str]]:
    """Knowledge per sample id. `answers[prompt_id][sample_id]` holds the stored texts;
    `summarize` maps {sample id: long text} to {sample id: summary} (None: only truncate)."""
    counts: Counter[str] = Counter()
    joined: dict[str, str] = {}
    for sample in samples:
        present = {}
        for p in order:
            present[p], dropped = drop_repeated_lines(answers.get(p, {}).get(sample.id, ""))
            counts["repeated_lines_dropped"] += dropped
        text = join_sections(present, order)
        if not text:
            counts["missing"] += 1
            continue
        if any(not present[p].strip() for p in order):
            counts["partial"] += 1
        joined[sample.id] = text
    too_long = {k: v for k, v in joined.items() if count_tokens(v) > budget}
    counts["within_budget"] = len(joined) - len(too_long)
    summaries = summarize(too_long) if summarize and too_long else {}
    for key, text in too_long.items():
        summary = summaries.get(key, "").strip()
        if summary and count_tokens(summary) <= budget:
            joined[key] = summary
            counts["summarized"] += 1
        else:
            joined[key] = truncate(summary or text, budget)
            counts["truncated"] += 1
    return joined, counts
