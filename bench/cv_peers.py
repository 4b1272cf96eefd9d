"""Plain OpenCV counterparts of our per-frame stages: what one would write without the engine."""
from __future__ import annotations

import cv2
import numpy as np


def normalize(rgb: np.ndarray) -> np.ndarray:
    """Naive levels: stretch the frame's own minimum..maximum to 0..255 (all channels together)."""
    return cv2.normalize(rgb, None, 0, 255, cv2.NORM_MINMAX)


def unsharp(rgb: np.ndarray, amount: float = 0.8, sigma: float = 1.5) -> np.ndarray:
    """Unsharp mask on all three channels, no threshold: frame + amount * (frame - blur)."""
    return cv2.addWeighted(rgb, 1 + amount, cv2.GaussianBlur(rgb, (0, 0), sigma), -amount, 0)


def bicubic2x(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    return cv2.resize(rgb, (2 * width, 2 * height), interpolation=cv2.INTER_CUBIC)


def median3(rgb: np.ndarray) -> np.ndarray:
    """A 3x3 median: takes out one-pixel lines and specks, softens the picture a little."""
    return cv2.medianBlur(rgb, 3)


PEERS = {"normalize": normalize, "unsharp": unsharp, "bicubic2x": bicubic2x, "median3": median3}
