"""The caption stage: each image of a run's samples -> one JSONL line with its caption and
provenance. Resumable (ids already written are skipped), and a bad image is recorded as
`failed` with its reason, never a crash."""

from __future__ import annotations

import json
import os
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from PIL import Image, ImageOps, UnidentifiedImageError
from tqdm import tqdm

from corpus.context_files import IMAGE_EXTENSIONS, load_captions, normalise_image_id
from corpus.embedded_models import resolve_model_path
from corpus.errors import DataFormatError, shorten
from corpus.files import atomic_write_text, read_samples_jsonl
from corpus.fingerprint import sha256_file
from corpus.prepare import prepare_dataset
from corpus.registry import get_dataset
from teacher.caption_config import CaptionConfig

if TYPE_CHECKING:
    from pipeline.config import RunConfig

CAPTIONS_DIR = "captions"
CAPTIONS_FILE = "captions.jsonl"


@dataclass(frozen=True)
class Outcome:
    """A caption, or why there is none: `reason` is a short category, `detail` the specifics."""

    caption: str | None = None
    reason: str | None = None
    detail: str | None = None


class Captioner(Protocol):
    """`prepare` (CPU work: decoding) runs one batch ahead of `run` (the model)."""

    name: str  # the backend, as written in each record
    source: str | None  # model folder or captions file
    params: dict[str, Any]

    def prepare(self, ids: Sequence[str]) -> Any: ...
    def run(self, prepared: Any) -> list[Outcome]: ...


def captions_for_run(run_dir: Path) -> Path | None:
    """The run's captions file when the caption stage wrote one (for teacher and student)."""
    path = run_dir / CAPTIONS_DIR / CAPTIONS_FILE
    return path if path.is_file() else None


def captions_for_stage(configured: Path | None, run_dir: Path) -> dict[str, str] | None:
    """A configured captions file, else the run's own ok captions, else None (teacher and
    student use the same rule)."""
    if configured:
        return load_captions(configured)
    written = captions_for_run(run_dir)
    return ok_captions(written) if written else None


def ok_captions(path: Path) -> dict[str, str]:
    """Only the captions with status ok (`load_captions` would also take the empty ones)."""
    return {normalise_image_id(r["img_id"]): r["caption"] for r in _read_records(path)
            if r.get("status") == "ok"}


def find_image(images_dir: Path, image_id: str) -> Path | None:
    stem = normalise_image_id(image_id)
    names = [stem + e for ext in IMAGE_EXTENSIONS for e in (ext, ext.upper())]
    return next((images_dir / n for n in names if (images_dir / n).is_file()), None)


def open_rgb(path: Path, max_pixels: int) -> Image.Image | Outcome:
    """Decode an image as RGB (CMYK, palette and alpha converted, alpha over white); the
    size is checked on the header first, so a huge image is refused before it is decoded."""
    try:
        if path.stat().st_size == 0:
            return Outcome(reason="empty file", detail=str(path))
        with warnings.catch_warnings(action="ignore", category=Image.DecompressionBombWarning), \
                Image.open(path) as image:
            if image.width * image.height > max_pixels:
                return Outcome(reason="too large", detail=f"{image.width}x{image.height} "
                               f"pixels > max_image_pixels {max_pixels}: {path}")
            try:
                image.load()
            except Exception as error:  # truncated, corrupt scan data, bad palette...
                return Outcome(reason="truncated or corrupt", detail=f"{error}: {path}")
            try:
                upright = ImageOps.exif_transpose(image)  # a copy, as a viewer shows it
            except Exception:  # a broken EXIF block: the pixels as stored
                upright = image.copy()
        if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
            rgba = upright.convert("RGBA")
            upright = Image.new("RGB", rgba.size, (255, 255, 255))
            upright.paste(rgba, mask=rgba.getchannel("A"))
        return upright.convert("RGB") if upright.mode != "RGB" else upright
    except Image.DecompressionBombError as error:
        return Outcome(reason="too large", detail=f"{error}: {path}")
    except UnidentifiedImageError:
        return Outcome(reason="not an image", detail=f"no image format recognised: {path}")
    except Exception as error:  # unreadable file, unconvertible mode: recorded, never fatal
        return Outcome(reason="unreadable", detail=f"{type(error).__name__}: {error}: {path}")


class FileCaptioner:
    """Captions made elsewhere (e.g. the paper's BLIP2_17.txt), rewritten with provenance."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.captions, self.source = load_captions(path), str(path)
        self.params: dict[str, Any] = {"sha256": sha256_file(path)}

    def prepare(self, ids: Sequence[str]) -> Sequence[str]:
        return ids

    def run(self, prepared: Sequence[str]) -> list[Outcome]:
        return [Outcome(caption=self.captions[i]) if i in self.captions
                else Outcome(reason="not in captions file", detail=self.source)
                for i in prepared]


class Blip2Captioner:
    """BLIP-2 in transformers from a local folder: batched `generate`, CPU or CUDA."""

    name = "transformers"

    def __init__(self, model_path: Path, config: CaptionConfig, images_dir: Path,
                 device: str | None = None) -> None:
        import torch
        from transformers import AutoProcessor, Blip2ForConditionalGeneration

        from teacher.transformers_backend import weights_fingerprint

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


def build_captioner(config: CaptionConfig, images_dir: Path) -> Captioner:
    if config.backend == "file":
        return FileCaptioner(Path(str(config.file)))
    if config.backend == "lavis":  # only where lavis imports: see caption_stage
        from teacher.lavis_captioner import LavisCaptioner

        return LavisCaptioner(config, images_dir)
    return Blip2Captioner(resolve_model_path(str(config.model), "caption.model"), config,
                          images_dir)


def _read_records(path: Path, text: str | None = None) -> list[dict[str, Any]]:
    records = []
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
            records[-1]["img_id"] = str(records[-1]["img_id"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise DataFormatError(path, number, shorten(line), "one caption record per line, "
                                  "as `cotpd caption` writes") from None
    return records


def _resume(path: Path, retry_failed: bool) -> tuple[set[str], bool, int]:
    """Ids already in the output; a partial last line (a killed run) is dropped, and with
    `retry_failed` so are the failed records. Returns (done, recovered, dropped)."""
    data = path.read_bytes() if path.is_file() else b""
    recovered = bool(data) and not data.endswith(b"\n")
    records = _read_records(path, data[: data.rfind(b"\n") + 1].decode("utf-8"))
    kept = [r for r in records if not retry_failed or r.get("status") == "ok"]
    if recovered or len(kept) < len(records):
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept))
    return {normalise_image_id(r["img_id"]) for r in kept}, recovered, len(records) - len(kept)


def _append(handle: Any, records: list[dict[str, Any]]) -> None:
    """Whole lines, on disk before the next batch: a kill leaves at most a partial last
    line, which the next start drops."""
    handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode())
    handle.flush()
    os.fsync(handle.fileno())


def caption_stage(run_config: RunConfig, run_dir: Path, config: CaptionConfig,
                  retry_failed: bool = False, captioner: Captioner | None = None) -> dict:
    """Caption every image of the run's samples into the output JSONL; returns the summary
    (also `<run>/captions/summary.json`). `captioner` overrides the configured backend."""
    if config.backend == "none" and captioner is None:
        return {"backend": "none", "written": False, "fingerprints": {},
                "message": "caption.backend is none: no captions written"}
    if config.backend == "lavis" and captioner is None:
        from teacher.lavis_worker import caption_in_lavis_env, lavis_importable

        if not lavis_importable():  # the main environment: the stage runs in LAVIS's own
            return caption_in_lavis_env(run_config, run_dir, config, retry_failed)
    start = time.perf_counter()
    prepared = prepare_dataset(run_config.data, run_dir)
    ids = list(dict.fromkeys(
        normalise_image_id(s.image_id) for split in prepared.report["splits"]
        for s in read_samples_jsonl(prepared.data_dir / f"{split}.jsonl") if s.image_id))
    output = config.output or run_dir / CAPTIONS_DIR / CAPTIONS_FILE
    output.parent.mkdir(parents=True, exist_ok=True)
    done, recovered, dropped = _resume(output, retry_failed)
    todo = [i for i in ids if i not in done]
    spec = get_dataset(run_config.data.dataset)
    images_dir = spec.directory_under(run_config.data.data_root) / (spec.images or "images")
    if todo and captioner is None:  # a finished run never loads the model
        captioner = build_captioner(config, images_dir)
    counts: Counter[str] = Counter()
    began = time.perf_counter()  # the rate is the captioning's own, not the model loading's
    batches = [todo[i:i + config.batch_size] for i in range(0, len(todo), config.batch_size)]
    with open(output, "ab") as handle, ThreadPoolExecutor(max_workers=1) as ahead, \
            tqdm(total=len(todo), desc="caption", unit="img", dynamic_ncols=True) as bar:
        pending = ahead.submit(captioner.prepare, batches[0]) if batches else None
        for index, batch in enumerate(batches):
            loaded = pending.result()
            if index + 1 < len(batches):  # decode the next batch while this one generates
                pending = ahead.submit(captioner.prepare, batches[index + 1])
            records = [{"img_id": image_id, "caption": o.caption or "",
                        "status": "failed" if o.reason else "ok", "reason": o.reason,
                        "detail": o.detail, "backend": captioner.name, "model": captioner.source,
                        "params": captioner.params}
                       for image_id, o in zip(batch, captioner.run(loaded), strict=True)]
            _append(handle, records)
            counts.update(r["reason"] or "ok" for r in records)
            bar.update(len(batch))
    seconds, ok = time.perf_counter() - began, counts.pop("ok", 0)
    summary = {"backend": captioner.name if captioner else config.backend,
               "model": captioner.source if captioner else str(config.model or config.file),
               "output": str(output), "written": True, "images": len(ids), "ok": ok,
               "failed": sum(counts.values()), "failed_reasons": dict(sorted(counts.items())),
               "skipped_done": len(ids) - len(todo), "retried_failed": dropped,
               "recovered_partial_line": recovered,
               "wall_seconds": round(time.perf_counter() - start, 2),
               "captions_per_second": round(len(todo) / seconds, 2) if todo else 0.0,
               "config": config.model_dump(mode="json"), "fingerprints": prepared.fingerprints}
    atomic_write_text(run_dir / CAPTIONS_DIR / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
