"""Quality measures on HxWx3 uint8 RGB frames."""
from __future__ import annotations

from typing import Iterable

import cv2
import numpy as np

from engine.flow import FlowEstimator, consistent_mask, warp


def psnr(reference: np.ndarray, test: np.ndarray, data_range: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB of two arrays of one shape (HxWx3 uint8 RGB frames, or any
    values whose peak is `data_range`): scikit-image's, inf for identical arrays."""
    # scikit-image (and the scipy it loads) only when measuring: recipes import this module
    # through the stages, in every process of the site.
    from skimage.metrics import peak_signal_noise_ratio

    with np.errstate(divide="ignore"):  # identical arrays: log10 of x / 0 is inf, as meant
        return float(peak_signal_noise_ratio(reference, test, data_range=data_range))


def flicker_index(frames: Iterable[np.ndarray]) -> float:
    """Mean absolute change of mean luminance between consecutive frames, in 0-255 levels.

    A steady shot scores near 0; old film with exposure flicker scores several levels.
    """
    means = [float(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).mean()) for f in frames]
    if len(means) < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(means))))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Structural similarity of two HxWx3 uint8 RGB frames of the same shape, in [-1, 1] (1 = identical).

    scikit-image's SSIM (Wang et al. 2004) with a 7x7 window, computed on each colour channel
    over the 0-255 range and averaged over the channels.
    """
    from skimage.metrics import structural_similarity

    return float(structural_similarity(reference, test, channel_axis=2, data_range=255))


def colorfulness(rgb: np.ndarray) -> float:
    """Colourfulness of an HxWx3 uint8 RGB image (Hasler and Suesstrunk 2003), >= 0 in 0-255 units.

    From the opponent channels rg = R - G and yb = (R + G) / 2 - B: the spread of colours
    (their joint standard deviation) plus 0.3 times how far the mean colour is from gray. A gray
    image scores 0; the authors found about 15 "slightly", 33 "moderately", 45 "averagely" and
    above 59 "highly" colourful for natural photos.
    """
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    spread = np.sqrt(rg.std() ** 2 + yb.std() ** 2)
    offset = np.sqrt(rg.mean() ** 2 + yb.mean() ** 2)
    return float(spread + 0.3 * offset)


def warping_error(frames: Iterable[np.ndarray], reference_frames: Iterable[np.ndarray] | None = None) -> float:
    """Temporal warping error of a clip: how much it changes beyond what its motion explains.

    `frames` (and `reference_frames`, with as many frames) are HxWx3 uint8 RGB. For each pair of
    consecutive frames t, t+1, optical flow (OpenCV DIS) is estimated between t and t+1 of
    `reference_frames` when given (e.g. the clean ground truth, so noise in `frames` does not
    bend the flow), else of `frames` themselves. Frame t+1 is warped back onto frame t along it,
    and pixels that are occluded or leave the picture are left out: those whose forward flow and
    the backward flow at their destination do not cancel (the consistency test of Sundaram et
    al. 2010) or that land outside the frame. The result is the mean absolute difference between
    frame t and warped frame t+1 over the remaining pixels and the three channels, averaged over
    the pairs: 0-255 levels, 0 for a clip whose frames only move (a pure pan). Flicker, grain
    that changes per frame and temporal artefacts raise it; independent gaussian noise of
    standard deviation s adds about 1.13 s. A clip of fewer than two frames scores 0. Frames
    must be at least 16 pixels on each side (engine.flow: DIS needs that; ValueError otherwise).
    """
    flow = FlowEstimator("medium")
    guides = frames if reference_frames is None else reference_frames
    pairs = zip(frames, guides) if reference_frames is None else zip(frames, guides, strict=True)
    errors = []
    previous = previous_gray = None
    for frame, guide in pairs:
        gray = cv2.cvtColor(guide, cv2.COLOR_RGB2GRAY)
        if previous is not None:
            error = _pair_warping_error(previous, previous_gray, frame, gray, flow)
            if error is not None:
                errors.append(error)
        previous, previous_gray = frame, gray
    return float(np.mean(errors)) if errors else 0.0


def _pair_warping_error(first: np.ndarray, first_gray: np.ndarray, second: np.ndarray, second_gray: np.ndarray,
                        flow: FlowEstimator) -> float | None:
    """Mean absolute difference of `first` and `second` warped onto it, over pixels visible in both."""
    if first.shape != second.shape:
        raise ValueError(f"Frames differ in shape: {first.shape} and {second.shape}.")
    forward = flow(first_gray, second_gray)
    visible = consistent_mask(forward, flow(second_gray, first_gray))
    if not visible.any():
        return None
    difference = np.abs(first.astype(np.float32) - warp(second, forward).astype(np.float32)).mean(axis=2)
    return float(difference[visible].mean())


def landmark_jitter(tracks: Iterable[np.ndarray]) -> float:
    """How much face landmarks shake, in pixels: the mean length of their second difference
    p[t-1] - 2 p[t] + p[t+1] over consecutive frames (0 for a face at rest or moving steadily).

    Each track is a T x K x 2 array of K landmarks over T consecutive frames.
    """
    shakes = []
    for points in tracks:
        points = np.asarray(points, np.float64)
        if len(points) >= 3:
            second = points[:-2] - 2 * points[1:-1] + points[2:]
            shakes.append(np.linalg.norm(second, axis=-1).ravel())
    return float(np.mean(np.concatenate(shakes))) if shakes else 0.0


def face_flicker(faces: Iterable[np.ndarray], truth: Iterable[np.ndarray]) -> float:
    """Flicker of a restored face against the ground truth, in 0-255 levels: the mean absolute
    difference between the frame-to-frame change of the restored aligned face and that of the
    true face aligned the same way (what changes beyond the real change). Both are sequences of
    SxSx3 uint8 crops of one person over consecutive frames."""
    changes = []
    previous = None
    for face, true_face in zip(faces, truth, strict=True):
        current = (face.astype(np.float32), true_face.astype(np.float32))
        if previous is not None:
            changes.append(float(np.mean(np.abs((current[0] - previous[0]) - (current[1] - previous[1])))))
        previous = current
    return float(np.mean(changes)) if changes else 0.0
