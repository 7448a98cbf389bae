"""Asking the teacher one prompt for texts that are not dataset samples (rewrites, entity
lists), through the same runner and store as the teach stage."""

from __future__ import annotations

from cotpd.corpus.records import MnerSample
from cotpd.teacher.catalogue import CatalogPrompt
from cotpd.teacher.runner import PromptCounts, Teacher, run_prompt
from cotpd.teacher.store import KnowledgeStore


def ask(prompt: CatalogPrompt, values: dict[str, dict[str, str]], teacher: Teacher,
        store: KnowledgeStore) -> tuple[dict[str, str], PromptCounts]:
    """Answers by key for {store key: template values}; keys already answered are not asked
    again, and a key missing from the answers failed (the store has its error)."""
    # The runner takes samples for their ids only when the values are given.
    keys = [MnerSample(id=key, tokens=[], labels=[], image_id=None) for key in values]
    counts = run_prompt(keys, prompt, teacher, store, values=values)
    stored = store.texts(teacher.fingerprint, prompt.id, prompt.version_hash(teacher.style))
    return {key: stored[key] for key in values if key in stored}, counts
