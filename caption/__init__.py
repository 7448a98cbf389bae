"""The caption stage: images -> one caption per image, with provenance."""

import cotpd.corpus  # noqa: F401  (sets the offline switches before any model library loads)
