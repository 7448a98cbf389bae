#!/usr/bin/env bash
# One config through the cluster: serve the teacher, teach (waits for the replicas), stop
# the server, train with DeepSpeed across nodes, evaluate. Prints the job ids.
#   bash scripts/slurm/submit_pipeline.sh configs/paper/twitter2017.yaml /models/Qwen2.5-7B-Instruct
# Environment: COTPD_MODELS, COTPD_DATA_ROOT (see configs/paper/cluster.yaml); optional
# TEACHER_NODES (default 1), TRAIN_NODES (default 1), GPUS_PER_NODE (default 8).
set -euo pipefail
cd "$(dirname "$0")/../.."
config=${1:?usage: submit_pipeline.sh CONFIG TEACHER_MODEL_FOLDER}
teacher=${2:?usage: submit_pipeline.sh CONFIG TEACHER_MODEL_FOLDER}
gpus=${GPUS_PER_NODE:-8}
export COTPD_TEACHER=$teacher
export COTPD_ENDPOINTS_DIR=$PWD/runs/endpoints/$(date +%Y%m%d-%H%M%S)
export COTPD_REPLICAS=${TEACHER_NODES:-1}
serve=$(sbatch --parsable --export=ALL --nodes="$COTPD_REPLICAS" --gpus-per-node="$gpus" \
  scripts/slurm/serve_teacher.sbatch "$teacher")
teach=$(sbatch --parsable --export=ALL --dependency="after:$serve" \
  scripts/slurm/teach.sbatch "$config")
# The server has no end of its own: cancel it once the teach job has finished, however.
sbatch --parsable --dependency="afterany:$teach" --wrap "scancel $serve" >/dev/null
train=$(sbatch --parsable --export=ALL --dependency="afterok:$teach" \
  --nodes="${TRAIN_NODES:-1}" --gpus-per-node="$gpus" scripts/slurm/train.sbatch "$config")
echo "serve $serve, teach $teach, train $train; report: runs/<run.name>/report.md"
