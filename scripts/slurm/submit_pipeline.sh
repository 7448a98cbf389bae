#!/usr/bin/env bash
# One config through the cluster: serve the teacher, teach (waits for the replicas), stop
# the server, train with DeepSpeed across nodes, evaluate and report. Prints the job ids.
#   bash scripts/slurm/submit_pipeline.sh CONFIG [TEACHER_MODEL_FOLDER] [--set KEY=VALUE ...]
#   TEACHER_NODES=2 TEACHER_GPUS=4 TRAIN_NODES=2 STUDENT_GPUS=8 \
#     bash scripts/slurm/submit_pipeline.sh configs/paper/twitter2017.yaml /models/Qwen2.5-7B-Instruct
# With no model folder (and no $COTPD_TEACHER) the server serves the embedded Gemma 3 270M.
# Relative paths are read from the repository's root. `--set` options go to the teach and the
# train job alike. Environment (all optional):
#   TEACHER_NODES, TRAIN_NODES      nodes per job (1)
#   TEACHER_GPUS, STUDENT_GPUS      GPUs per node of each job; 0: CPU only, no GPU directive
#                                   (default: GPUS_PER_NODE, else 0)
#   STUDENT_RANKS_PER_NODE          training processes per node (default: STUDENT_GPUS, or 1)
#   TEACH_GPUS                      GPUs of the teach job: 1 when the config captions with
#                                   BLIP-2 (0)
#   TEACHER_PARTITION, TEACH_PARTITION, STUDENT_PARTITION   partitions (Slurm's default)
#   COTPD_SERVER (vllm|fake), COTPD_SERVE_ARGS, COTPD_SERVER_WAIT_S: see the .sbatch files
#   COTPD_SLURM_DIR                 the jobs' logs (<job name>-<id>.out) and the replicas'
#                                   URL files (runs/slurm)
#   COTPD_VENV                      the project's environment (.venv)
#   COTPD_MODELS, COTPD_DATA_ROOT   what the config refers to (configs/paper/cluster.yaml)
# The teach job stops with its reason when the server job ends or does not answer in time;
# the jobs after it are then cancelled by Slurm (--kill-on-invalid-dep). If a submission
# fails, the jobs already submitted are cancelled.
set -euo pipefail
cd "$(dirname "$0")/../.."
config=${1:?usage: submit_pipeline.sh CONFIG [TEACHER_MODEL_FOLDER] [--set KEY=VALUE ...]}
shift
teacher=
if [ $# -gt 0 ] && [ "$1" != --set ]; then teacher=$1; shift; fi
teacher_gpus=${TEACHER_GPUS:-${GPUS_PER_NODE:-0}}
student_gpus=${STUDENT_GPUS:-${GPUS_PER_NODE:-0}}
ranks=${STUDENT_RANKS_PER_NODE:-$student_gpus}
[ "$ranks" -gt 0 ] || ranks=1

venv=${COTPD_VENV:-.venv}
# The config's teacher.model (${COTPD_TEACHER}) is the name the server answers to: vLLM's is
# the model folder, given here or in $COTPD_TEACHER (the embedded Gemma's when neither is
# set); the fake server answers any.
teacher=${teacher:-${COTPD_TEACHER:-}}
if [ -n "$teacher" ]; then
  export COTPD_TEACHER=$teacher
elif [ "${COTPD_SERVER:-vllm}" = vllm ]; then
  COTPD_TEACHER=$("$venv/bin/python" -c \
    'from cotpd.teacher.embedded import embedded_gemma_folder; print(embedded_gemma_folder())')
  export COTPD_TEACHER
else
  export COTPD_TEACHER=fake
fi
slurm_dir=$(realpath -m "${COTPD_SLURM_DIR:-runs/slurm}")
mkdir -p "$slurm_dir"
export COTPD_ENDPOINTS_DIR=$slurm_dir/endpoints-$(date +%Y%m%d-%H%M%S)-$$
export COTPD_REPLICAS=${TEACHER_NODES:-1}
export COTPD_RANKS_PER_NODE=$ranks

submitted=()
cancel_submitted() {  # a submission failed halfway: leave nothing queued behind
  if [ ${#submitted[@]} -gt 0 ]; then
    scancel "${submitted[@]}" || true
    echo "submit_pipeline: cancelled the jobs already submitted: ${submitted[*]}" >&2
  fi
}
trap cancel_submitted ERR
submit() {  # submit VAR SBATCH_ARGS...: sbatch with the common options; VAR <- the job id
  local var=$1 id; shift
  id=$(sbatch --parsable --export=ALL --output="$slurm_dir/%x-%j.out" "$@") || {
    echo "submit_pipeline: sbatch $* failed" >&2; return 1; }
  submitted+=("${id%%;*}")
  printf -v "$var" %s "${id%%;*}"
}
gpu_option() { [ "$1" -gt 0 ] && echo "--gpus-per-node=$1" || true; }
partition() { [ -n "$1" ] && echo "--partition=$1" || true; }

# shellcheck disable=SC2046  # the optional options are empty or one word
submit serve --nodes="$COTPD_REPLICAS" $(gpu_option "$teacher_gpus") \
  $(partition "${TEACHER_PARTITION:-}") $([ "$teacher_gpus" -gt 0 ] && echo --exclusive) \
  scripts/slurm/serve_teacher.sbatch $teacher
export COTPD_SERVE_JOB=$serve
# shellcheck disable=SC2046
submit teach --dependency="after:$serve" --kill-on-invalid-dep=yes \
  $([ "${TEACH_GPUS:-0}" -gt 0 ] && echo "--gpus=${TEACH_GPUS}") \
  $(partition "${TEACH_PARTITION:-${TEACHER_PARTITION:-}}") \
  scripts/slurm/teach.sbatch "$config" "$@"
# The server has no end of its own: cancel it once the teach job has ended, however.
# shellcheck disable=SC2046
submit stop --dependency="afterany:$teach" --job-name=cotpd-stop-teacher --time=5 \
  $(partition "${TEACH_PARTITION:-${TEACHER_PARTITION:-}}") --wrap "scancel $serve"
# shellcheck disable=SC2046
submit train --dependency="afterok:$teach" --kill-on-invalid-dep=yes \
  --nodes="${TRAIN_NODES:-1}" $(gpu_option "$student_gpus") \
  $(partition "${STUDENT_PARTITION:-}") $([ "$student_gpus" -gt 0 ] && echo --exclusive) \
  scripts/slurm/train.sbatch "$config" "$@"
trap - ERR
echo "serve $serve, teach $teach, stop-server $stop, train $train; logs in $slurm_dir;" \
     "report: <run.output_dir>/<run.name>/report.md"
