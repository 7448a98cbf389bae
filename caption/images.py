"""Images as the captioners read them: found by id, decoded upright as RGB, and every
failure an `Outcome` with its reason (recorded in the captions file, never a crash)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from cotpd.corpus.context_files import IMAGE_EXTENSIONS, normalise_image_id
from PIL import Image, ImageOps, UnidentifiedImageError


@dataclass(frozen=True)
class Outcome:
    """A caption, or why there is none: `reason` is a short category, `detail` the specifics."""

    caption: str | None = None
    reason: str | None = None
    detail: str | None = None


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
