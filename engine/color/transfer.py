"""Colour from a reference image that is not a frame of the clip (a colour photo of the place, a
painting): for sample pixels of a gray frame, find the reference pixels that look most alike and
take their chroma, keeping only the samples whose match is confident. The solver spreads them.

Both images are compared at a low resolution on features a gray frame has: luminance (after the
reference's is remapped to the frame's mean and spread, as Welsh et al. 2002 do), luminance of
the surroundings, local texture (standard deviation) and the normalised position in the picture
(a sky is usually at the top). Nearest neighbours come from a k-d tree; a sample is confident
when its neighbours are close and agree on a colour.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.color.space import chroma, gray_of, luminance

WORK_PIXELS = 24_000
# Relative importance of each feature (each is first scaled to the frame's own spread).
FEATURE_WEIGHTS = {"luminance": 1.0, "context": 0.8, "texture": 0.6, "position": 0.9}


def _work_size(height: int, width: int, pixels: int) -> tuple[int, int]:
    scale = min(1.0, float(np.sqrt(pixels / (height * width))))
    return max(8, round(width * scale)), max(8, round(height * scale))


def _features(y: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """HxWxF features of a float32 luminance image, each divided by `spread` (the frame's, per feature)."""
    height, width = y.shape
    fine = cv2.GaussianBlur(y, (0, 0), 1.0)
    context = cv2.GaussianBlur(y, (0, 0), 4.0)
    mean = cv2.blur(y, (7, 7))
    texture = np.sqrt(np.maximum(cv2.blur(y * y, (7, 7)) - mean * mean, 0.0))
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    stack = np.dstack([fine, context, texture, grid_x / width, grid_y / height])
    return stack / spread


def _spread(y: np.ndarray) -> np.ndarray:
    """Per-feature scales from the frame: its luminance spread for the luminance features, and a
    fixed spread for position (about a third of the picture counts as much as a luminance sigma)."""
    w = FEATURE_WEIGHTS
    lum = max(float(y.std()), 4.0)
    return np.array([lum / w["luminance"], lum / w["context"], lum / w["texture"],
                     0.33 / w["position"], 0.33 / w["position"]], np.float32)


def transfer_samples(frame: np.ndarray, reference_rgb: np.ndarray, *, stride: int = 3, neighbours: int = 8,
                     min_confidence: float = 0.25, where: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sparse chroma samples for `frame` (gray or RGB, HxW) from a colour `reference_rgb` image.

    Returns (target HxWx2 chroma, weight HxW): weight is the sample's confidence in (0, 1] at the
    sample pixels and 0 elsewhere, ready for `solve_chroma`. With `where` (HxW bool), only samples
    in or next to those pixels are looked for.
    """
    y_frame = gray_of(frame).astype(np.float32)
    height, width = y_frame.shape
    frame_size = _work_size(height, width, WORK_PIXELS)
    reference_size = _work_size(*reference_rgb.shape[:2], WORK_PIXELS)
    y_small = cv2.resize(y_frame, frame_size, interpolation=cv2.INTER_AREA)
    ref_small = cv2.resize(reference_rgb, reference_size, interpolation=cv2.INTER_AREA)
    y_ref = luminance(ref_small)
    # Luminance remapping: compare shapes of the tone distribution, not absolute exposure.
    y_ref = (y_ref - y_ref.mean()) / max(float(y_ref.std()), 1e-3) * y_small.std() + y_small.mean()
    spread = _spread(y_small)
    ref_features = _features(y_ref, spread).reshape(-1, 5)
    ref_chroma = chroma(ref_small).reshape(-1, 2)
    from scipy.spatial import cKDTree  # here: every process of the site imports this module with the recipes

    tree = cKDTree(ref_features)

    frame_features = _features(y_small, spread)
    rows = np.arange(stride // 2, frame_size[1], stride)
    cols = np.arange(stride // 2, frame_size[0], stride)
    grid_r, grid_c = np.meshgrid(rows, cols, indexing="ij")
    grid_r, grid_c = grid_r.ravel(), grid_c.ravel()
    if where is not None:
        small_where = cv2.resize(where.astype(np.uint8) * 255, frame_size, interpolation=cv2.INTER_AREA)
        wanted = cv2.dilate(small_where, np.ones((3, 3), np.uint8)) > 0
        keep_grid = wanted[grid_r, grid_c]
        grid_r, grid_c = grid_r[keep_grid], grid_c[keep_grid]
    target = np.zeros((height, width, 2), np.float32)
    weight = np.zeros((height, width), np.float32)
    if grid_r.size == 0:
        return target, weight
    queries = frame_features[grid_r, grid_c]
    distances, found = tree.query(queries, k=neighbours)
    near = np.exp(-(distances * distances) / 0.5)  # a feature distance of ~0.7 sigma halves the vote
    votes = near / np.maximum(near.sum(axis=1, keepdims=True), 1e-12)
    candidates = ref_chroma[found]  # N x k x 2
    color = np.einsum("nk,nkc->nc", votes, candidates)
    disagreement = np.sqrt(np.einsum("nk,nk->n", votes, np.sum((candidates - color[:, None]) ** 2, axis=2)))
    confidence = np.exp(-distances[:, 0] ** 2 / 0.5) * np.exp(-((disagreement / 25.0) ** 2))

    keep = confidence >= min_confidence
    # Sample positions back in the frame's own pixels.
    full_r = np.clip(((grid_r + 0.5) * height / frame_size[1]).astype(int), 0, height - 1)[keep]
    full_c = np.clip(((grid_c + 0.5) * width / frame_size[0]).astype(int), 0, width - 1)[keep]
    target[full_r, full_c] = color[keep]
    weight[full_r, full_c] = confidence[keep]
    return target, weight
