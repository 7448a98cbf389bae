#!/usr/bin/env bash
# The whole method on one config: set-up (from nothing if needed), caption, teach, augment,
# train, predict, score, report. With no argument: the embedded default on the demo data,
# on any CPU. Finished work is skipped, so a re-run after a failure continues.
#   bash scripts/full_pipeline.sh                                   # the demo
#   bash scripts/full_pipeline.sh configs/twitter2017.yaml --data-root DIR
#   bash scripts/full_pipeline.sh CONFIG --set student.variant=mv   # any cotpd run option
set -euo pipefail
cd "$(dirname "$0")/.."
config=${1:-configs/demo.yaml}
shift || true
began=$(date +%s)
bash scripts/setup.sh
.venv/bin/cotpd run "$config" "$@"
echo "full pipeline: $(( $(date +%s) - began )) s"
