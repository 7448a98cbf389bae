"""Checks on a model folder before it is used.

A folder is data: it may lack its tokenizer (transformers then builds an empty 5-token one
and every word becomes [UNK], so training runs on garbage without a word of warning), carry
a tokenizer of another model, or ask to run its own code. Each of these is a one-line
`CotpdError` naming the folder and the file, before any weight is read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cotpd.corpus.errors import CotpdError

# Any one of these makes a tokenizer; a bare vocab.json (BPE) also needs merges.txt.
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model",
                   "tokenizer.model", "sentencepiece.bpe.model")
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin",
                "pytorch_model.bin.index.json")
REMOTE_CODE_HINT = ("set trust_remote_code: true in your config (or pass --trust-remote-code) "
                    "only if you trust that code")


def read_json_file(path: Path, what: str) -> dict[str, Any]:
    """A JSON object file of a model folder; missing or unreadable is a one-line error."""
    if not path.is_file():
        raise CotpdError(f"{path.parent}: {what} has no {path.name}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CotpdError(f"{path}: not readable JSON ({error})") from None
    if not isinstance(value, dict):
        raise CotpdError(f"{path}: expected a JSON object")
    return value


def require_tokenizer_files(folder: Path, what: str = "the model folder") -> None:
    if not folder.is_dir():
        raise CotpdError(f"{folder}: {what} is missing (expected a folder with the tokenizer)")
    names = {p.name for p in folder.iterdir()}
    if "vocab.json" in names and not names & (set(TOKENIZER_FILES) - {"vocab.json"}) \
            and "merges.txt" not in names:
        raise CotpdError(f"{folder}: {what} has vocab.json but no merges.txt")
    if not names & set(TOKENIZER_FILES):
        raise CotpdError(f"{folder}: {what} has no tokenizer files (none of "
                         f"{', '.join(TOKENIZER_FILES)}); copy the model's tokenizer into it")


def require_weights(folder: Path, what: str = "the model folder") -> None:
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        raise CotpdError(f"{folder}: {what} has no weights file (none of "
                         f"{', '.join(WEIGHT_FILES)})")


def needs_remote_code(folder: Path) -> str | None:
    """Which file asks for the folder's own Python code that transformers cannot replace
    with a class of its own, or None."""
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    config_path, tokenizer_path = folder / "config.json", folder / "tokenizer_config.json"
    if config_path.is_file():
        config = read_json_file(config_path, "the model folder")
        if config.get("auto_map") and config.get("model_type") not in CONFIG_MAPPING:
            return config_path.name
    if tokenizer_path.is_file():
        tokenizer = read_json_file(tokenizer_path, "the model folder")
        name = str(tokenizer.get("tokenizer_class") or "")
        if tokenizer.get("auto_map") and not hasattr(transformers, name):
            return tokenizer_path.name
    return None


def refuse_remote_code(folder: Path, trust_remote_code: bool) -> None:
    """The user, not the folder, decides whether a folder's code runs."""
    asking = needs_remote_code(folder)
    if asking and not trust_remote_code:
        raise CotpdError(f"{folder}: {asking} needs the folder's own Python code (auto_map); "
                         f"it is not run unless you say so: {REMOTE_CODE_HINT}")


def embedding_rows(config: dict[str, Any]) -> int | None:
    """The vocabulary size a config.json gives the model's input embeddings."""
    rows = config.get("vocab_size")
    if rows is None and isinstance(config.get("text_config"), dict):
        rows = config["text_config"].get("vocab_size")
    return rows if isinstance(rows, int) and rows > 0 else None


def check_vocabulary(folder: Path, tokens: int, rows: int | None) -> None:
    """A tokenizer with more ids than embedding rows indexes nothing; one with far fewer
    (models pad their embeddings by a few hundred at most) is another model's tokenizer."""
    if rows is None:
        return
    if tokens > rows:
        raise CotpdError(f"{folder}: the tokenizer has {tokens} tokens but the model's "
                         f"embeddings have {rows} rows (vocab_size in config.json)")
    if tokens < rows // 2:
        raise CotpdError(f"{folder}: the tokenizer has only {tokens} tokens for the model's "
                         f"{rows} embedding rows: it is not this model's tokenizer")


def load_tokenizer(folder: Path, trust_remote_code: bool, rows: int | None,
                   what: str = "the model folder") -> Any:
    """The folder's tokenizer, checked: files present, it loads, its size fits `rows`."""
    from transformers import AutoTokenizer

    require_tokenizer_files(folder, what)
    refuse_remote_code(folder, trust_remote_code)
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            folder, local_files_only=True, trust_remote_code=trust_remote_code)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        first = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise CotpdError(f"{folder}: the tokenizer does not load ({type(error).__name__}: "
                         f"{first})") from None
    check_vocabulary(folder, len(tokenizer), rows)
    return tokenizer


def check_model_folder(folder: Path, trust_remote_code: bool) -> tuple[dict[str, Any], Any]:
    """A pretrained model folder (config, weights, tokenizer), checked; returns its
    config.json and its tokenizer."""
    config = read_json_file(folder / "config.json", "the model folder")
    refuse_remote_code(folder, trust_remote_code)
    require_weights(folder)
    tokenizer = load_tokenizer(folder, trust_remote_code, embedding_rows(config))
    return config, tokenizer
