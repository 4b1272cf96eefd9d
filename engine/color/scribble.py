"""Edge-aware spreading of sparse chroma into a full chroma field.

The optimisation of Levin, Lischinski and Weiss ("Colorization using Optimization", 2004):
neighbouring pixels of similar luminance should have similar chroma, and constrained pixels
should keep (softly, by their weight) the chroma they were given. That is one sparse linear
system per frame: (L + D) x = D c, with L the graph Laplacian of luminance affinities between
4-neighbours and D the diagonal of constraint weights.

A direct sparse solve grows faster than the pixel count, so the system is solved at a reduced
size (about `work_pixels` pixels) and the result brought back to full size with a guided filter
on the full-size luminance, which puts chroma edges back on luminance edges. That keeps a 720p
frame well under a second on one core.
"""
from __future__ import annotations

import cv2
import numpy as np

from engine.color.space import chroma

DEFAULT_WORK_PIXELS = 40_000
# Luminance difference (0-255 levels) over which the affinity of two neighbours falls to 1/e:
# small enough that an edge stops colour, large enough that film grain and texture do not.
EDGE_SIGMA = 7.0
# Every pixel is tied to gray by this much, so regions that no constraint reaches stay neutral
# (and the system is never singular).
GRAY_PULL = 1e-5


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter: `source` (HxW or HxWxC float32) smoothed along the edges of `guide` (HxW, 0-1)."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(x):
        return cv2.boxFilter(x, -1, size, borderType=cv2.BORDER_REFLECT)

    guide = guide.astype(np.float32)
    channels = source[..., None] if source.ndim == 2 else source
    mean_guide = mean(guide)
    var_guide = mean(guide * guide) - mean_guide * mean_guide
    result = np.empty_like(channels, dtype=np.float32)
    for c in range(channels.shape[2]):
        src = np.ascontiguousarray(channels[..., c], dtype=np.float32)
        mean_src = mean(src)
        a = (mean(guide * src) - mean_guide * mean_src) / (var_guide + eps)
        b = mean_src - a * mean_guide
        result[..., c] = mean(a) * guide + mean(b)
    return result[..., 0] if source.ndim == 2 else result


def _laplacian(y: np.ndarray, sigma: float):
    """Graph Laplacian (a scipy sparse matrix) of 4-neighbour luminance affinities
    exp(-dY^2 / sigma^2) on an HxW image."""
    from scipy import sparse

    height, width = y.shape
    index = np.arange(height * width).reshape(height, width)
    rows, cols, weights = [], [], []
    for a, b in ((index[:, :-1], index[:, 1:]), (index[:-1, :], index[1:, :])):
        diff = y.ravel()[a.ravel()] - y.ravel()[b.ravel()]
        w = np.exp(-(diff * diff) / (sigma * sigma)) + 1e-4
        rows += [a.ravel(), b.ravel()]
        cols += [b.ravel(), a.ravel()]
        weights += [w, w]
    rows, cols, weights = np.concatenate(rows), np.concatenate(cols), np.concatenate(weights)
    n = height * width
    adjacency = sparse.csr_matrix((weights, (rows, cols)), shape=(n, n))
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    return sparse.diags(degree) - adjacency


def solve_chroma(y: np.ndarray, target: np.ndarray, weight: np.ndarray, *, base: np.ndarray | None = None,
                 work_pixels: int = DEFAULT_WORK_PIXELS, sigma: float = EDGE_SIGMA) -> np.ndarray:
    """Full HxWx2 chroma from constraints: `target` (HxWx2 chroma) held with `weight` (HxW, >= 0).

    Weights around 1 are soft hints (propagated or transferred colours); 100 or more pins a pixel
    (a user's scribble). Pixels of weight 0 take the chroma their luminance-similar neighbours have.
    With `base` (a full-size chroma field, e.g. the propagated one), only the solution's change
    from `base` is brought up from the reduced size and added to it, so `base` keeps its detail.
    """
    height, width = y.shape
    weight = weight.astype(np.float32)
    if not np.any(weight > 0):
        return np.zeros((height, width, 2), np.float32) if base is None else base.astype(np.float32)
    scale = min(1.0, float(np.sqrt(work_pixels / (height * width))))
    small_size = (max(2, round(width * scale)), max(2, round(height * scale)))
    y_float = y.astype(np.float32)
    if scale < 1.0:
        y_small = cv2.resize(y_float, small_size, interpolation=cv2.INTER_AREA)
        # Area averages of weight and weight x chroma keep thin scribbles, at a weight that
        # reflects how much of the small pixel they cover.
        weight_small = cv2.resize(weight, small_size, interpolation=cv2.INTER_AREA)
        weighted = cv2.resize(target.astype(np.float32) * weight[..., None], small_size, interpolation=cv2.INTER_AREA)
        target_small = weighted / np.maximum(weight_small, 1e-12)[..., None]
    else:
        y_small, weight_small, target_small = y_float, weight, target.astype(np.float32)
    # scipy when solving: every process of the site imports this module with the recipes.
    from scipy import sparse
    from scipy.sparse.linalg import splu

    h, w = y_small.shape
    system = _laplacian(y_small, sigma) + sparse.diags(weight_small.ravel().astype(np.float64) + GRAY_PULL)
    # The system is symmetric: a minimum-degree ordering on A + A^T fills in less than the default.
    solve = splu(system.tocsc(), permc_spec="MMD_AT_PLUS_A").solve
    small = np.empty((h, w, 2), np.float32)
    for c in range(2):
        rhs = (weight_small * target_small[..., c]).ravel().astype(np.float64)
        small[..., c] = solve(rhs).reshape(h, w)
    if scale >= 1.0:
        return small
    if base is not None:
        small = small - cv2.resize(base.astype(np.float32), small_size, interpolation=cv2.INTER_AREA)
    full = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    radius = max(2, round(1.5 / scale))
    full = guided_filter(y_float / 255.0, full, radius, eps=1e-3)
    return full if base is None else base.astype(np.float32) + full


def solve_chroma_near(mask: np.ndarray, y: np.ndarray, target: np.ndarray, weight: np.ndarray, base: np.ndarray,
                      *, margin: int | None = None) -> np.ndarray:
    """`solve_chroma`, worked out only around the pixels of `mask` (HxW bool), e.g. the few that
    motion uncovered: the rest of the frame, held by its constraints, would barely change, and a
    strip costs a fraction of the whole frame. Outside the box the result is `base`."""
    height, width = y.shape
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return base.astype(np.float32)
    margin = margin if margin is not None else max(12, round(0.025 * max(height, width)))
    top, bottom = max(0, rows.min() - margin), min(height, rows.max() + margin + 1)
    left, right = max(0, cols.min() - margin), min(width, cols.max() + margin + 1)
    if (bottom - top) * (right - left) > 0.6 * height * width:
        return solve_chroma(y, target, weight, base=base)
    box = np.s_[top:bottom, left:right]
    result = base.astype(np.float32)
    result[box] = solve_chroma(y[box], target[box], weight[box], base=base[box])
    return result


def scribble_constraints(scribble_rgba: np.ndarray, size: tuple[int, int], weight: float = 100.0):
    """(chroma HxWx2, weight HxW) from an RGBA scribble image: pixels of alpha > 0 pin their colour's chroma.

    `size` is the frame's (width, height); a scribble image of another size is scaled to it.
    """
    width, height = size
    if scribble_rgba.shape[:2] != (height, width):
        scribble_rgba = cv2.resize(scribble_rgba, (width, height), interpolation=cv2.INTER_NEAREST)
    alpha = scribble_rgba[..., 3].astype(np.float32) / 255.0
    return chroma(scribble_rgba[..., :3]), np.where(alpha > 0, weight * alpha, 0.0).astype(np.float32)
