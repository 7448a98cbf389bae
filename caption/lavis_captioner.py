"""BLIP-2 through LAVIS (the paper's captioner): `load_model_and_preprocess` with every file
from a local path. The model loads only in the LAVIS environment (`bash scripts/setup.sh
lavis`); elsewhere the class hands the stage over to that environment."""

from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from cotpd.caption.captioners import Blip2Captioner
from cotpd.caption.config import CaptionConfig
from cotpd.caption.lavis_files import check_lavis_files, lavis_fingerprint
from cotpd.caption.lavis_local import local_lavis_model_type
from cotpd.caption.registry import register_captioner
from cotpd.corpus.config import DataConfig
from cotpd.corpus.errors import CotpdError, shorten
from PIL import Image, ImageFile


@register_captioner("lavis")
class LavisCaptioner(Blip2Captioner):
    """Shares the transformers captioner's image decoding (bad images recorded, never fatal),
    batching and split-on-failure; only the model and its preprocessing differ."""

    name = "lavis"

    @classmethod
    def from_config(cls, config: CaptionConfig, images_dir: Path) -> LavisCaptioner:
        return cls(config, images_dir)

    @classmethod
    def run_elsewhere(cls, config: CaptionConfig, data: DataConfig, run_dir: Path,
                      retry_failed: bool) -> dict[str, Any] | None:
        """Where LAVIS does not import (the main environment), the whole stage runs in
        LAVIS's own environment: its summary. None: here."""
        from cotpd.caption.lavis_env import caption_in_lavis_env, lavis_importable

        if lavis_importable():
            return None
        return caption_in_lavis_env(config, data, run_dir, retry_failed)

    def __init__(self, config: CaptionConfig, images_dir: Path,
                 device: str | None = None) -> None:
        # Not Blip2Captioner.__init__: that one loads a transformers model.
        import torch
        from lavis.models import load_model_and_preprocess

        # Importing LAVIS sets Pillow's LOAD_TRUNCATED_IMAGES (coco_caption_datasets.py), which
        # would caption the grey fill of a cut file: a truncated image is a failure here.
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        files = check_lavis_files(config.lavis)  # every missing file named before loading
        self.config, self.images_dir, self.source = config, images_dir, str(files.checkpoint)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        try:
            with local_lavis_model_type(config.lavis, files) as model_type:
                # On CPU LAVIS casts the model to float32 itself; on CUDA it autocasts to fp16.
                self.model, vis_processors, _ = load_model_and_preprocess(
                    config.lavis.name, model_type, is_eval=True, device=self.device)
        except pickle.UnpicklingError as error:  # torch >= 2.6 loads tensors only by default
            raise CotpdError(f"caption.lavis: {files.checkpoint} or {files.vit_weights} holds "
                             "more than tensors, which torch refuses to unpickle; if you trust "
                             "the file, set TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 "
                             f"({shorten(str(error), 120)})") from None
        self.vis_processor = vis_processors["eval"]
        self.params = {"name": config.lavis.name, "model_type": config.lavis.model_type,
                       "max_new_tokens": config.max_new_tokens, "num_beams": config.num_beams,
                       # None: the model type's own prompt ("a photo of" for caption_coco_*)
                       "prompt": config.prompt if config.prompt is not None
                       else self.model.prompt,
                       "weights": lavis_fingerprint(files)}
        self._decoders = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1))

    def _generate(self, images: list[Image.Image]) -> list[str]:
        import torch

        batch = torch.stack([self.vis_processor(image) for image in images]).to(self.device)
        samples = {"image": batch, "prompt": self.params["prompt"]}
        with torch.inference_mode():
            captions = self.model.generate(samples, num_beams=self.config.num_beams,
                                           max_length=self.config.max_new_tokens, min_length=1)
        return [c.strip() for c in captions]
