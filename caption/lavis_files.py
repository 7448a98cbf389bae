"""The local files that stand in for everything LAVIS's BLIP-2 would download, checked
before any loading (in the main environment too: it needs neither torch nor lavis)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from cotpd.caption.config import LavisConfig
from cotpd.corpus.errors import CotpdError

# What LAVIS 1.0.2 would download for each model type (from its model YAMLs and
# create_eva_vit_g / create_clip_vit_L): BLIP-2 checkpoint, vision weights, LLM hub id.
LAVIS_DOWNLOADS = {
    "caption_coco_opt2.7b": ("blip2_caption_opt2.7b.pth", "eva_vit_g.pth", "facebook/opt-2.7b"),
    "caption_coco_opt6.7b": ("blip2_caption_opt6.7b.pth", "eva_vit_g.pth", "facebook/opt-6.7b"),
    "pretrain_opt2.7b": ("blip2_pretrained_opt2.7b.pth", "eva_vit_g.pth", "facebook/opt-2.7b"),
    "pretrain_opt6.7b": ("blip2_pretrained_opt6.7b.pth", "eva_vit_g.pth", "facebook/opt-6.7b"),
    "caption_coco_flant5xl": ("blip2_caption_flant5xl.pth", "eva_vit_g.pth", "google/flan-t5-xl"),
    "pretrain_flant5xl": ("blip2_pretrained_flant5xl.pth", "eva_vit_g.pth", "google/flan-t5-xl"),
    "pretrain_flant5xl_vitL": ("blip2_pretrained_flant5xl_vitL.pth", "clip_vit_L.pth",
                               "google/flan-t5-xl"),
    "pretrain_flant5xxl": ("blip2_pretrained_flant5xxl.pth", "eva_vit_g.pth",
                           "google/flan-t5-xxl"),
}
BERT_ID = "bert-base-uncased"  # hard-coded in LAVIS's Blip2Base.init_tokenizer / init_Qformer
WEIGHT_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json", "model.safetensors",
                "model.safetensors.index.json")
# The tokenizer files each LLM family loads, as alternatives of files that go together
# (OPT: the slow GPT-2 BPE tokenizer; T5: sentencepiece, or the fast tokenizer's file).
LLM_TOKENIZER_FILES = {"blip2_opt": (("vocab.json", "merges.txt"),),
                       "blip2_t5": (("spiece.model",), ("tokenizer.json",))}


class LavisFileMissing(CotpdError):
    """A file that LAVIS would download is not at the configured local path."""


@dataclass(frozen=True)
class LavisFiles:
    """Absolute paths, checked: the BLIP-2 .pth, the ViT .pth, the LLM and BERT folders."""

    checkpoint: Path
    vit_weights: Path
    llm: Path
    bert: Path


def check_lavis_files(config: LavisConfig) -> LavisFiles:
    """Every local file LAVIS will read, or a one-line error naming the key and the path."""
    checkpoint_name, vit_name, llm_id = LAVIS_DOWNLOADS[config.model_type]

    def path_of(key: str, wants: str) -> Path:
        value = getattr(config, key)
        if value is None:
            raise LavisFileMissing(f"caption.lavis.{key} is not set ({config.model_type} "
                                   f"needs {wants})")
        return Path(value).expanduser().resolve()

    def missing(key: str, path: Path, what: str, wants: str) -> LavisFileMissing:
        return LavisFileMissing(f"caption.lavis.{key}: {path} {what} ({config.model_type} "
                                f"needs {wants}; the stack never downloads, so copy it to "
                                "this machine and point the key at it)")

    files = {}
    for key, name in (("checkpoint", checkpoint_name), ("vit_weights", vit_name)):
        wants = f"LAVIS's {name}"
        path = files[key] = path_of(key, wants)
        if not path.is_file():
            raise missing(key, path, "is not a file", wants)
    tokenizer = LLM_TOKENIZER_FILES[config.name]
    for key, hub_id, required in (("llm", llm_id, ("config.json",)),
                                  ("bert", BERT_ID, ("config.json", "vocab.txt"))):
        wants = f"the Hugging Face folder of {hub_id}"
        path = files[key] = path_of(key, wants)
        if not path.is_dir():
            raise missing(key, path, "is not a folder", wants)
        for name in required:
            if not (path / name).is_file():
                raise missing(key, path, f"has no {name}", wants)
        if not any((path / name).is_file() for name in WEIGHT_FILES):
            raise missing(key, path, f"has no weights ({' or '.join(WEIGHT_FILES)})", wants)
        if key == "llm" and not any(all((path / name).is_file() for name in names)
                                    for names in tokenizer):
            options = " or ".join(" and ".join(names) for names in tokenizer)
            raise missing(key, path, f"has no tokenizer ({options})", wants)
    return LavisFiles(**files)


def lavis_fingerprint(files: LavisFiles) -> str:
    """A cheap hash that changes with the weights: configs by content, weights by name and
    size (hashing multi-GB checkpoints on every run would cost minutes)."""
    digest = hashlib.sha256()
    for path in (files.checkpoint, files.vit_weights):
        digest.update(f"{path.name}:{path.stat().st_size}".encode())
    for folder in (files.llm, files.bert):
        digest.update((folder / "config.json").read_bytes())
        for path in sorted(folder.iterdir()):
            if path.name in WEIGHT_FILES or path.suffix in (".bin", ".safetensors"):
                digest.update(f"{path.name}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:16]
