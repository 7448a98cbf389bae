"""Data augmentation by the teacher: style rewrites, entity replacement with a factual check,
imagined images; every label re-aligned exactly, every drop counted with its reason."""
