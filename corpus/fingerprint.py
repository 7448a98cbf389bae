"""Content fingerprints of the files a run reads."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from cotpd.corpus.schema import result_settings, settings_as_recorded_before
from pydantic import BaseModel


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def config_fingerprint(config: BaseModel) -> str:
    """The sha256 of a config's result settings written as YAML: a finished run is
    recognised by it. Operational fields (server URLs, concurrency, timeouts, where the run
    is written; `schema.operational`) are left out: changing one keeps finished runs
    finished."""
    return sha256_bytes(yaml.safe_dump(result_settings(config), sort_keys=False).encode())


def fingerprint_matches(recorded: str | None, config: BaseModel) -> bool:
    """Whether `recorded` is `config`'s fingerprint. Runs recorded before operational fields
    were left out hashed the whole config: that still matches when nothing changed."""
    return recorded is not None and recorded in (
        config_fingerprint(config),
        sha256_bytes(yaml.safe_dump(settings_as_recorded_before(config), sort_keys=False)
                     .encode()))


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, read in chunks so large files stay cheap."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def weights_fingerprint(folder: Path) -> str:
    """A hash of the model's config and weight index (cheap, yet changes with the weights)."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors.index.json", "generation_config.json"):
        path = folder / name
        if path.is_file():
            digest.update(path.read_bytes())
    weights = sorted(folder.glob("*.safetensors"))
    for path in weights:  # size and name stand in for the bytes of multi-GB shards
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]
