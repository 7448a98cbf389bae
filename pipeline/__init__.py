"""The run config, the run directory and the `cotpd` command."""

import cotpd.corpus  # noqa: F401  (sets the offline switches before any model library loads)
