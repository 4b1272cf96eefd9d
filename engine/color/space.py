"""Luminance and chroma: colorization only ever changes chroma, so the output's luminance is the
input's own (to rounding).

Luminance Y is the BT.601 weighting OpenCV's RGB->GRAY uses; chroma is the pair
(B - Y, R - Y) in 0-255 levels, as float32. Any chroma recombined with a Y in [0, 255] is
pulled toward gray just enough to fit the RGB cube, which never moves Y.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.metrics import psnr

WEIGHT_R, WEIGHT_G, WEIGHT_B = 0.299, 0.587, 0.114


def luminance(rgb: np.ndarray) -> np.ndarray:
    """HxW float32 Y in 0-255 of an HxWx3 uint8 (or float) RGB image."""
    rgb = rgb.astype(np.float32)
    return WEIGHT_R * rgb[..., 0] + WEIGHT_G * rgb[..., 1] + WEIGHT_B * rgb[..., 2]


def gray_of(frame: np.ndarray) -> np.ndarray:
    """HxW uint8 luminance of a frame (RGB, or already one channel)."""
    return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def chroma(rgb: np.ndarray) -> np.ndarray:
    """HxWx2 float32 chroma (B - Y, R - Y) of an RGB image."""
    rgb = rgb.astype(np.float32)
    y = luminance(rgb)
    return np.dstack([rgb[..., 2] - y, rgb[..., 0] - y])


def combine(y: np.ndarray, chroma_field: np.ndarray, saturation: float = 1.0) -> np.ndarray:
    """HxWx3 uint8 RGB with luminance `y` (HxW, 0-255) and `chroma_field` (HxWx2) times `saturation`.

    Where the scaled chroma would leave the RGB cube, it is shortened toward gray (which has
    luminance y and is always inside) until it fits: the hue stays, luminance never moves.
    """
    y = y.astype(np.float32)
    u = chroma_field[..., 0].astype(np.float32) * saturation  # B - Y
    v = chroma_field[..., 1].astype(np.float32) * saturation  # R - Y
    g = -(WEIGHT_R * v + WEIGHT_B * u) / WEIGHT_G  # G - Y
    offsets = np.stack([v, g, u], axis=-1)
    # Largest scale in [0, 1] that keeps y + scale * offset inside [0, 255] for every channel.
    room_up = (255.0 - y)[..., None]
    room_down = y[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(offsets > 0, room_up / offsets, np.where(offsets < 0, -room_down / offsets, np.inf))
    scale = np.clip(np.min(limit, axis=-1), 0.0, 1.0)
    rgb = y[..., None] + offsets * scale[..., None]
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def lab_to_chroma(l_channel: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Our chroma for CIE Lab colours (L in 0-100, ab in Lab units): what a Lab-space model predicts."""
    lab = np.dstack([l_channel, ab]).astype(np.float32)
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB), 0.0, 1.0) * 255.0
    return chroma(rgb)


def lab_lightness(rgb: np.ndarray) -> np.ndarray:
    """HxW float32 CIE L (0-100) of an RGB uint8 image."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]


def chroma_psnr(truth_rgb: np.ndarray, test_rgb: np.ndarray) -> float:
    """PSNR in dB of the chroma channels alone (peak 255): how right the colours are, whatever the luminance."""
    return psnr(chroma(truth_rgb), chroma(test_rgb))


def chroma_view(rgb: np.ndarray) -> np.ndarray:
    """The image's chroma shown at a constant mid luminance: what changes in it over time is colour
    alone (for measuring colour flicker with a warping error)."""
    return combine(np.full(rgb.shape[:2], 128.0, np.float32), chroma(rgb))
