"""The run directory: every stage reads and writes here, and the provenance goes with it."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from cotpd.corpus.files import atomic_write_text
from cotpd.corpus.run_files import RunFiles
from cotpd.corpus.schema import config_to_yaml
from pydantic import BaseModel

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def git_commit(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """The project's commit and whether the work tree had uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10,
                               check=True).stdout.strip() != ""
        return {"commit": commit, "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


def package_versions() -> dict[str, str]:
    """Every installed distribution and its version."""
    versions = {dist.metadata["Name"]: dist.version for dist in metadata.distributions()
                if dist.metadata["Name"]}
    return dict(sorted(versions.items(), key=lambda kv: kv[0].lower()))


def write_provenance(run_dir: Path, stage: str, config: BaseModel,
                     fingerprints: dict[str, str]) -> Path:
    """Write the resolved config and a manifest (fingerprints, versions, commit) for a stage.

    The manifest is per stage, so stages run on different machines keep their own record.
    """
    run_dir.mkdir(parents=True, exist_ok=True)
    files = RunFiles(run_dir)
    atomic_write_text(files.resolved_config, config_to_yaml(config))
    manifest = {
        "stage": stage,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": sys.argv,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": git_commit(),
        "data_fingerprints": fingerprints,
        "packages": package_versions(),
    }
    path = files.manifest(stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(manifest, indent=2) + "\n")
    return path
