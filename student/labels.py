"""The label list a student predicts: BIO tags over the dataset's entity types (MNER), or
the dataset's relations (MRE)."""

from __future__ import annotations

from collections.abc import Sequence

from cotpd.corpus.records import Sample
from cotpd.corpus.tasks import get_task


def label_list(task: str, registered: Sequence[str] | None, train: Sequence[Sample]) -> list[str]:
    """Registered labels in registry order; labels seen only in the data are appended sorted."""
    return get_task(task).label_list(registered, train)
