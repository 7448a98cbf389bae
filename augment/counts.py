"""What one augmentation type did: asked = kept + every drop, each drop with its reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cotpd.teacher.runner import PromptCounts


@dataclass
class TypeCounts:
    asked: int = 0  # augmented copies attempted (sources x times)
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    matches: Counter[str] = field(default_factory=Counter)  # re-alignment: exact / tolerant
    answers: Counter[str] = field(default_factory=Counter)  # factual check: yes / no / unparsed
    teacher: dict[str, PromptCounts] = field(default_factory=dict)  # per prompt variant

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def to_dict(self) -> dict[str, Any]:
        prompts: dict[str, int] = Counter()
        for counts in self.teacher.values():
            for name in ("asked", "answered", "failed", "skipped", "completion_tokens"):
                prompts[name] += getattr(counts, name)
        return {"asked": self.asked, "kept": self.kept,
                "dropped": dict(sorted(self.dropped.items())),
                "drop_rate": round(1 - self.kept / self.asked, 4) if self.asked else 0.0,
                "matches": dict(self.matches), "factual_answers": dict(self.answers),
                "teacher_prompts": dict(prompts)}
