#!/usr/bin/env bash
# Re-resolve the main environment from pyproject.toml in a scratch venv and rewrite
# constraints.txt with the exact versions installed.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
python3.11 -m venv "$scratch/venv"
"$scratch/venv/bin/pip" install -q "torch==2.13.0"
"$scratch/venv/bin/pip" install -q -e ".[dev,deepspeed]"
{
  echo "# Pinned versions of every package the main environment installs (pip constraints)."
  echo "# Regenerate after changing dependencies: bash scripts/lock.sh"
  "$scratch/venv/bin/pip" freeze --exclude-editable | sed 's/+cpu$//'
} > constraints.txt
echo "lock.sh: wrote constraints.txt ($(grep -vc '^#' constraints.txt) packages)"
