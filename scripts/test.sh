#!/usr/bin/env bash
# Set up from nothing when needed, then run ruff and the default test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow` for the slow tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The launcher tests need Slurm (tests/test_slurm.py); without apt-get or root they skip.
bash scripts/setup.sh slurm || echo "test.sh: Slurm could not be installed; the slurm tests will skip" >&2
# shellcheck disable=SC1091
source .venv/bin/activate
ruff check .
python -m pytest "$@"
