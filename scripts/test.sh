#!/usr/bin/env bash
# Set up from nothing when needed, then run ruff, build the docs (--strict: a broken link or a
# page missing from the nav fails) and run the default test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow` for the slow tests, or
# `bash scripts/test.sh --data-root DIR` for the tests that read the real datasets.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The launcher tests need Slurm (tests/pipeline/test_slurm.py); without apt-get or root they skip.
bash scripts/setup.sh slurm || echo "test.sh: Slurm could not be installed; the slurm tests will skip" >&2
# shellcheck disable=SC1091
source .venv/bin/activate
ruff check .
# Not --quiet: it hides the warnings that --strict turns into a failure.
NO_MKDOCS_2_WARNING=1 mkdocs build --strict
python -m pytest "$@"
