"""eval"""

import cotpd.corpus  # noqa: F401  (sets the offline switches before any model library loads)
