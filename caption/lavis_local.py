"""Point LAVIS at local files through its own resolution rules, for the time of a load:
- the BLIP-2 .pth and the LLM folder: a copy of the model type's YAML with `finetuned` or
  `pretrained` and `opt_model` / `t5_model` rewritten, registered as a model type;
- the ViT weights: create_eva_vit_g / create_clip_vit_L fetch a fixed URL through timm's
  cache, which finds `<torch hub dir>/checkpoints/<file name>`: a private hub dir links it;
- bert-base-uncased: init_tokenizer / init_Qformer pass that id to from_pretrained, which
  takes a folder of that name in the working directory first: a private one links it.
Runs only in the LAVIS environment."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cotpd.caption.config import LavisConfig
from cotpd.caption.lavis_files import BERT_ID, LAVIS_DOWNLOADS, LavisFiles

LLM_KEYS = {"blip2_opt": "opt_model", "blip2_t5": "t5_model"}


@contextmanager
def local_lavis_model_type(config: LavisConfig, files: LavisFiles) -> Iterator[str]:
    """A model type for `load_model_and_preprocess` that reads only `files`; LAVIS's model
    registry, the torch hub dir and the working directory are restored afterwards."""
    import torch
    from lavis.common.registry import registry
    from omegaconf import OmegaConf

    model_cls = registry.get_model_class(config.name)
    packaged = OmegaConf.load(model_cls.default_config_path(config.model_type))
    weights_key = "finetuned" if packaged.model.get("load_finetuned", True) else "pretrained"
    packaged.model[weights_key] = str(files.checkpoint)
    packaged.model[LLM_KEYS[config.name]] = str(files.llm)
    types_before, hub_before, cwd_before = (model_cls.PRETRAINED_MODEL_CONFIG_DICT,
                                            torch.hub.get_dir(), Path.cwd())
    with tempfile.TemporaryDirectory(prefix="cotpd-lavis-load-") as folder:
        root = Path(folder)
        local_type = f"cotpd_local_{config.model_type}"
        OmegaConf.save(packaged, root / f"{local_type}.yaml")
        checkpoints = root / "hub" / "checkpoints"
        checkpoints.mkdir(parents=True)
        (checkpoints / LAVIS_DOWNLOADS[config.model_type][1]).symlink_to(files.vit_weights)
        (root / "cwd").mkdir()
        (root / "cwd" / BERT_ID).symlink_to(files.bert, target_is_directory=True)
        try:
            # LAVIS joins its library root with this path: an absolute one wins.
            model_cls.PRETRAINED_MODEL_CONFIG_DICT = {
                **types_before, local_type: str(root / f"{local_type}.yaml")}
            torch.hub.set_dir(str(root / "hub"))
            os.chdir(root / "cwd")
            yield local_type
        finally:
            os.chdir(cwd_before)
            torch.hub.set_dir(hub_before)
            model_cls.PRETRAINED_MODEL_CONFIG_DICT = types_before
