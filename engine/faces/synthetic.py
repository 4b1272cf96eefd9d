"""Moving-face clips with ground truth, made from the real face in scikit-image's astronaut photo:
test and benchmark media."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


def face_sprites() -> list[np.ndarray]:
    """Three HxWx3 uint8 RGB head crops made from the astronaut's real face: as photographed,
    mirrored in gray, and turned a little with a warm tint (scikit-image has one sharp frontal face)."""
    from skimage import data

    head = data.astronaut()[30:210, 150:300]
    mirrored = cv2.cvtColor(np.ascontiguousarray(head[:, ::-1]), cv2.COLOR_RGB2GRAY)
    mirrored_gray = np.repeat(mirrored[..., None], 3, axis=2)
    height, width = head.shape[:2]
    turn = cv2.getRotationMatrix2D((width / 2, height / 2), 8, 1.0)
    turned = cv2.warpAffine(head, turn, (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    warm = np.clip(turned.astype(np.float32) * [1.08, 0.97, 0.85], 0, 255).astype(np.uint8)
    return [head.copy(), mirrored_gray, warm]


def soft_oval(height: int, width: int) -> np.ndarray:
    """HxW float32 alpha: an oval with a soft edge, so a pasted head has no hard border."""
    alpha = np.zeros((height, width), np.float32)
    cv2.ellipse(alpha, (width // 2, height // 2), (int(width * 0.46), int(height * 0.46)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(alpha, (0, 0), max(width, height) / 30)


def paste_sprite(frame: np.ndarray, sprite: np.ndarray, center: tuple[float, float], height: int) -> None:
    """Paste `sprite` scaled to `height` pixels centred at `center` (sub-pixel), in place, clipped."""
    scale = height / sprite.shape[0]
    width = int(round(sprite.shape[1] * scale))
    cx, cy = center
    x0, y0 = int(np.floor(cx - width / 2)), int(np.floor(cy - height / 2))
    # Sub-pixel placement through the warp, so motion is smooth and landmarks move continuously.
    shift = np.float32([[scale, 0, (cx - width / 2) - x0], [0, scale, (cy - height / 2) - y0]])
    patch = cv2.warpAffine(sprite, shift, (width + 1, height + 1), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    alpha = cv2.warpAffine(soft_oval(*sprite.shape[:2]), shift, (width + 1, height + 1), flags=cv2.INTER_LINEAR)
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + width + 1, frame.shape[1]), min(y0 + height + 1, frame.shape[0])
    if fx1 <= fx0 or fy1 <= fy0:
        return
    part = patch[fy0 - y0: fy1 - y0, fx0 - x0: fx1 - x0].astype(np.float32)
    weight = alpha[fy0 - y0: fy1 - y0, fx0 - x0: fx1 - x0, None]
    region = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = np.clip(region * (1 - weight) + part * weight, 0, 255).round().astype(np.uint8)


@dataclass
class MovingFaces:
    frames: list[np.ndarray]  # clean HxWx3 uint8 RGB
    centers: list[list[tuple[float, float] | None]]  # per frame, per person: head centre or None when absent


def moving_faces_clip(count: int = 24, size: tuple[int, int] = (320, 240), head: int = 80,
                      background: str = "coffee") -> MovingFaces:
    """Three people: one walks left to right, one right to left crossing in front of the first, a
    third drifts slowly in the lower right and enters a few frames late."""
    from skimage import data

    width, height = size
    backdrop = cv2.resize(getattr(data, background)(), (width, height), interpolation=cv2.INTER_AREA)
    sprites = face_sprites()
    frames, centers = [], []
    for t in range(count):
        u = t / max(count - 1, 1)
        walker = (0.18 * width + 0.55 * width * u, 0.26 * height)
        crosser = (0.80 * width - 0.55 * width * u, 0.50 * height)
        third = (0.78 * width + 6 * np.sin(t / 3.0), 0.72 * height) if t >= 3 else None
        frame = backdrop.copy()
        for sprite, center, side in ((sprites[0], walker, head), (sprites[2], third, int(head * 0.8)),
                                     (sprites[1], crosser, head)):
            if center is not None:
                paste_sprite(frame, sprite, center, side)
        frames.append(frame)
        centers.append([walker, crosser, third])
    return MovingFaces(frames, centers)
