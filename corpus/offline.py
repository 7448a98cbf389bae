"""The stack never reaches a model hub or a statistics server: these switches are set before
any model library is imported. Every package of the project imports `corpus` first (its
`__init__` calls `set_offline_switches`), and Python runs a package's `__init__` before any of
its modules, so every entry point (the `cotpd` command, `python -m cotpd.pipeline.cli`, the LAVIS
worker, the in-process vLLM engine, the benchmarks) has them before transformers,
huggingface_hub, datasets or vLLM read them."""

from __future__ import annotations

import os

OFFLINE_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "VLLM_NO_USAGE_STATS": "1",  # vLLM's in-process engine reports usage unless told not to
    "VLLM_DO_NOT_TRACK": "1",
    "DO_NOT_TRACK": "1",
}


def set_offline_switches() -> dict[str, str]:
    """Set the switches unless the user set them; return the values now in force."""
    for name, value in OFFLINE_SWITCHES.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in OFFLINE_SWITCHES}
