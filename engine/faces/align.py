"""Face alignment: a similarity transform of the 5 landmarks onto GPEN's template, and paste-back.

GPEN aligns faces to the classic 5-point template of a 96x112 crop made square (x + 8), padded
by a quarter of its side on each edge (inner_padding_factor 0.25) and scaled to the model's size;
at 512 that puts the eyes at about (202, 243) and (309, 242), the nose at (256, 304) and the
mouth corners at (212, 367) and (301, 366). Aligning as GPEN was trained matters more than any
finer template.
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from skimage.transform import SimilarityTransform

BASE_POINTS_96x112 = np.array([[30.29459953, 51.69630051], [65.53179932, 51.50139999], [48.02519989, 71.73660278],
                               [33.54930115, 92.3655014], [62.72990036, 92.20410156]])
INNER_PADDING = 0.25


@lru_cache(maxsize=8)
def template(size: int) -> np.ndarray:
    """The 5 landmark positions (5x2 float64) in a size x size aligned crop, as GPEN uses them."""
    points = BASE_POINTS_96x112 + [8.0, 0.0]  # 96x112 made square
    side = 112.0
    points = points + side * INNER_PADDING
    side = side * (1 + 2 * INNER_PADDING)
    result = points * (size / side)
    result.setflags(write=False)
    return result


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """2x3 float64 least-squares similarity transform (rotation, uniform scale, shift, no reflection)
    taking Nx2 `source` points to Nx2 `target` points: scikit-image's (Umeyama 1991)."""
    transform = SimilarityTransform()
    transform.estimate(np.asarray(source, np.float64), np.asarray(target, np.float64))
    return transform.params[:2].copy()


def alignment_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """2x3 matrix from frame pixels to the size x size aligned crop."""
    return similarity(landmarks, template(size))


def align_face(frame: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The aligned size x size crop; parts beyond the frame's edges are mirrored so a restorer sees
    a plausible picture rather than a black band."""
    return cv2.warpAffine(frame, matrix, (size, size), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)


def valid_region(frame_shape: tuple[int, ...], matrix: np.ndarray, size: int) -> np.ndarray:
    """size x size float32: 1 where the aligned crop shows the frame, 0 where it was mirrored."""
    ones = np.ones(frame_shape[:2], np.float32)
    return cv2.warpAffine(ones, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


@lru_cache(maxsize=8)
def blend_mask(size: int) -> np.ndarray:
    """size x size float32 in [0, 1]: the face's rounded square, shrunk and blurred, so the pasted
    face fades into the frame over about a tenth of the crop with no visible edge."""
    mask = np.zeros((size, size), np.float32)
    margin = int(size * 0.08)
    radius = int(size * 0.18)
    x0, y0, x1, y1 = margin, margin, size - 1 - margin, size - 1 - margin
    cv2.rectangle(mask, (x0 + radius, y0), (x1 - radius, y1), 1.0, -1)
    cv2.rectangle(mask, (x0, y0 + radius), (x1, y1 - radius), 1.0, -1)
    for cx, cy in ((x0 + radius, y0 + radius), (x1 - radius, y0 + radius), (x0 + radius, y1 - radius),
                   (x1 - radius, y1 - radius)):
        cv2.circle(mask, (cx, cy), radius, 1.0, -1)
    feather = size * 0.05
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8), iterations=max(1, int(feather)))
    mask = cv2.GaussianBlur(mask, (0, 0), feather)
    mask.setflags(write=False)
    return mask


def paste_back(frame: np.ndarray, face: np.ndarray, matrix: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """`frame` (HxWx3 uint8) with the aligned `face` (size x size x 3 uint8) warped back and blended in
    with the feathered mask. Only the face's bounding box in the frame is touched; parts of the crop
    that fall outside the frame are dropped."""
    size = face.shape[0]
    height, width = frame.shape[:2]
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64) @ inverse.T
    x0, y0 = np.floor(corners.min(0)).astype(int) - 1
    x1, y1 = np.ceil(corners.max(0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 <= x0 or y1 <= y0:
        return frame
    # The inverse warp straight into the box: shift the inverse by the box's corner.
    to_box = inverse.copy()
    to_box[:, 2] -= (x0, y0)
    box_size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(face, to_box, box_size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(blend_mask(size), to_box, box_size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = (mask * float(strength))[..., None]
    out = frame.copy()
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(region + (warped.astype(np.float32) - region) * mask, 0, 255).round().astype(np.uint8)
    return out
