"""The stack never reaches a model hub: these switches are set before any HF import."""

from __future__ import annotations

import os

OFFLINE_SWITCHES = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
}


def set_offline_switches() -> dict[str, str]:
    """Set the switches unless the user set them; return the values now in force."""
    for name, value in OFFLINE_SWITCHES.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in OFFLINE_SWITCHES}
