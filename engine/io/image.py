"""Still images as HxWx3 uint8 RGB arrays."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps


def read_image(path: str | Path) -> np.ndarray:
    """Return HxWx3 uint8 RGB, with EXIF orientation applied; alpha and 16-bit are flattened."""
    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img)
        if img.mode in ("I;16", "I;16B", "I;16L", "I"):
            wide = np.asarray(img, dtype=np.float64)
            img = Image.fromarray(np.clip(wide / 257.0, 0, 255).astype(np.uint8))
        return np.asarray(img.convert("RGB")).copy()


def write_image(path: str | Path, rgb: np.ndarray, *, quality: int = 95) -> None:
    """Write HxWx3 uint8 RGB; the format follows the suffix. No metadata is kept."""
    Image.fromarray(rgb).save(path, quality=quality)
