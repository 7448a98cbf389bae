"""Student models: knowledge view, prompt view and conditional prompt distillation."""

import cotpd.corpus  # noqa: F401  (sets the offline switches before any model library loads)
