"""The teacher: prompt catalogue, LLM backends, the CoT runner and the knowledge store."""

import cotpd.corpus  # noqa: F401  (sets the offline switches before any model library loads)
