"""The captioners: captions from a file made elsewhere, and BLIP-2 through transformers
(the LAVIS one, in its own environment, is in lavis_captioner.py)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from cotpd.caption.config import CaptionConfig
from cotpd.caption.images import Outcome, find_image, open_rgb
from cotpd.caption.registry import register_captioner
from cotpd.corpus.context_files import IMAGE_EXTENSIONS, load_captions, normalise_image_id
from cotpd.corpus.embedded_models import resolve_model_path
from cotpd.corpus.errors import shorten
from cotpd.corpus.fingerprint import sha256_file, weights_fingerprint
from PIL import Image


class Captioner(Protocol):
    """`prepare` (CPU work: decoding) runs one batch ahead of `run` (the model)."""

    name: str  # the backend, as written in each record
    source: str | None  # model folder or captions file
    params: dict[str, Any]

    def prepare(self, ids: Sequence[str]) -> Any: ...
    def run(self, prepared: Any) -> list[Outcome]: ...


@register_captioner("file")
class FileCaptioner:
    """Captions made elsewhere (e.g. the paper's BLIP2_17.txt), rewritten with provenance."""

    name = "file"

    @classmethod
    def from_config(cls, config: CaptionConfig, images_dir: Path) -> FileCaptioner:
        return cls(Path(str(config.file)))

    def __init__(self, path: Path) -> None:
        self.captions, self.source = load_captions(path), str(path)
        self.params: dict[str, Any] = {"sha256": sha256_file(path)}

    def prepare(self, ids: Sequence[str]) -> Sequence[str]:
        return ids

    def run(self, prepared: Sequence[str]) -> list[Outcome]:
        return [Outcome(caption=self.captions[i]) if i in self.captions
                else Outcome(reason="not in captions file", detail=self.source)
                for i in prepared]


@register_captioner("transformers")
class Blip2Captioner:
    """BLIP-2 in transformers from a local folder: batched `generate`, CPU or CUDA."""

    name = "transformers"

    @classmethod
    def from_config(cls, config: CaptionConfig, images_dir: Path) -> Blip2Captioner:
        return cls(resolve_model_path(str(config.model), "caption.model"), config, images_dir)

    def __init__(self, model_path: Path, config: CaptionConfig, images_dir: Path,
                 device: str | None = None) -> None:
        import torch
        from transformers import AutoProcessor, Blip2ForConditionalGeneration


        self.config, self.images_dir, self.source = config, images_dir, str(model_path)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.processor = AutoProcessor.from_pretrained(model_path, local_files_only=True)
        self.model = Blip2ForConditionalGeneration.from_pretrained(
            model_path, local_files_only=True, dtype=dtype).to(self.device).eval()
        # Folders saved before transformers put `<image>` tokens in the prompt lack these.
        if self.processor.num_query_tokens is None:
            self.processor.num_query_tokens = self.model.config.num_query_tokens
        if self.model.config.image_token_index is None:
            tokenizer = self.processor.tokenizer
            token_id = tokenizer.convert_tokens_to_ids(self.processor.image_token.content)
            if token_id >= self.model.get_input_embeddings().num_embeddings:
                self.model.resize_token_embeddings(len(tokenizer))
            self.model.config.image_token_index = token_id
        self.params = {"max_new_tokens": config.max_new_tokens, "num_beams": config.num_beams,
                       "prompt": config.prompt, "dtype": str(dtype).removeprefix("torch."),
                       "weights": weights_fingerprint(Path(model_path))}
        self._decoders = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1))

    def _load(self, image_id: str) -> Image.Image | Outcome:
        path = find_image(self.images_dir, image_id)
        if path is None:
            return Outcome(reason="missing", detail=f"no {normalise_image_id(image_id)}"
                           f"{{{','.join(IMAGE_EXTENSIONS)}}} in {self.images_dir}")
        return open_rgb(path, self.config.max_image_pixels)

    def prepare(self, ids: Sequence[str]) -> list[Image.Image | Outcome]:
        return list(self._decoders.map(self._load, ids))

    def run(self, prepared: list[Image.Image | Outcome]) -> list[Outcome]:
        images = [item for item in prepared if isinstance(item, Image.Image)]
        captions = iter(self._generate_or_split(images))
        return [item if isinstance(item, Outcome) else next(captions) for item in prepared]

    def _generate_or_split(self, images: list[Image.Image]) -> list[Outcome]:
        """One batch; when it fails (out of memory, an odd image), each image alone."""
        if not images:
            return []
        try:
            return [Outcome(caption=c) if c else Outcome(reason="empty caption")
                    for c in self._generate(images)]
        except (RuntimeError, ValueError, TypeError, IndexError) as error:
            if len(images) == 1:
                return [Outcome(reason="generation error", detail=shorten(str(error), 300))]
            return [o for image in images for o in self._generate_or_split([image])]

    def _generate(self, images: list[Image.Image]) -> list[str]:
        import torch

        inputs = self.processor(images=images, text=[self.config.prompt or ""] * len(images),
                                return_tensors="pt").to(self.device, self.model.dtype)
        with torch.inference_mode():  # the <image> placeholder is never a word of the caption
            output = self.model.generate(**inputs, max_new_tokens=self.config.max_new_tokens,
                                         num_beams=self.config.num_beams, do_sample=False,
                                         suppress_tokens=[self.model.config.image_token_index])
        if self.model.config.use_decoder_only_language_model:  # the prompt comes back too
            output = output[:, inputs["input_ids"].shape[1]:]
        return [t.strip() for t in self.processor.batch_decode(output, skip_special_tokens=True)]
