"""The label list a student predicts: BIO tags over the dataset's entity types (MNER), or
the dataset's relations (MRE)."""

from __future__ import annotations

from collections.abc import Sequence

from cotpd.corpus.bio import label_type
from cotpd.corpus.records import MnerSample, MreSample, Sample


def label_list(task: str, registered: Sequence[str] | None, train: Sequence[Sample]) -> list[str]:
    """Registered labels in registry order; types seen only in the data are appended sorted."""
    if task == "mner":
        types = list(registered or [])
        seen = {label_type(lab) for s in train if isinstance(s, MnerSample) for lab in s.labels}
        types += sorted(t for t in seen if t is not None and t not in types)
        return ["O"] + [f"{prefix}-{t}" for t in types for prefix in ("B", "I")]
    relations = list(registered or [])
    seen_rel = {s.relation for s in train if isinstance(s, MreSample)}
    return relations + sorted(r for r in seen_rel if r not in relations)
