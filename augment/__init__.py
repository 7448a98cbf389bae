"""Data augmentation by the teacher: style rewrites, entity replacement with a factual check,
imagined images; every label re-aligned exactly, every drop counted with its reason."""

import cotpd.corpus  # noqa: F401  (sets the offline switches before any model library loads)
