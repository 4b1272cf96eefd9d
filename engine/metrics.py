"""Quality measures on HxWx3 uint8 RGB frames."""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB (inf for identical frames)."""
    mse = np.mean((reference.astype(np.float64) - test.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def flicker_index(frames: Iterable[np.ndarray]) -> float:
    """Mean absolute change of mean luminance between consecutive frames, in 0-255 levels.

    A steady shot scores near 0; old film with exposure flicker scores several levels.
    """
    means = [float(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).mean()) for f in frames]
    if len(means) < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(means))))
