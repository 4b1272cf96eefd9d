"""engine.flow: DIS flow, backward warping and the forward-backward consistency check."""
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
from skimage import data

from engine.flow import FlowEstimator, consistency_weight, consistent_mask, pixel_grid, sample, warp


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    """160x200 uint8 gray with detail everywhere (a crop of a photo)."""
    return cv2.cvtColor(data.astronaut()[40:200, 100:300], cv2.COLOR_RGB2GRAY)


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """`image` moved by (dx, dy) pixels: what was at (x, y) is at (x + dx, y + dy)."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, image.shape[1::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


INNER = (slice(20, -20), slice(20, -20))  # away from the borders, which the shift fills in


@pytest.mark.parametrize("preset", ["fast", "medium"])
def test_a_known_translation_is_recovered(texture, preset):
    flow = FlowEstimator(preset)(texture, shifted(texture, 3.0, -2.0))
    assert flow.shape == (*texture.shape, 2) and flow.dtype == np.float32
    median = np.median(flow[INNER].reshape(-1, 2), axis=0)
    assert np.abs(median - [3.0, -2.0]).max() < 0.1
    assert np.mean(np.linalg.norm(flow[INNER] - [3.0, -2.0], axis=2) < 0.5) > 0.9


def test_warp_along_a_known_flow_undoes_the_shift_exactly(texture):
    moved = np.roll(texture, 2, axis=1)  # what was at x is at x + 2
    flow = np.zeros((*texture.shape, 2), np.float32)
    flow[..., 0] = 2.0
    back = warp(moved, flow)
    assert back.dtype == np.uint8 and back.shape == texture.shape
    assert np.array_equal(back[:, :-2], texture[:, :-2])
    color = np.dstack([moved] * 3)
    assert np.array_equal(warp(color, flow)[:, :-2], np.dstack([texture] * 3)[:, :-2])


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a[INNER].astype(float) - b[INNER]).mean())


def test_warp_along_the_estimated_flow_matches_the_first_frame(texture):
    second = shifted(texture, 4.0, 1.0)
    back = warp(second, FlowEstimator("medium")(texture, second))
    assert mean_difference(second, texture) > 15  # levels: the frames differ much before warping
    assert mean_difference(back, texture) < 0.5
    # Between pixels, sampling blurs a little (as the shift did): the estimated flow does as well as the true one.
    second = shifted(texture, 4.5, 1.5)
    true_flow = np.broadcast_to(np.float32([4.5, 1.5]), (*texture.shape, 2))
    assert mean_difference(warp(second, FlowEstimator("medium")(texture, second)), warp(second, true_flow)) < 0.6


def test_sample_reads_between_pixels_and_handles_the_border():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    positions = np.float32([[[0.5, 0.0], [3.0, 2.0], [-5.0, 1.0]]])
    assert np.allclose(sample(image, positions), [[0.5, 11.0, 4.0]])  # the last reads the edge
    assert np.allclose(sample(image, positions, cv2.BORDER_CONSTANT), [[0.5, 11.0, 0.0]])
    assert np.array_equal(pixel_grid(3, 4)[2, 1], [1.0, 2.0])


def moving_square(texture: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Two frames of a static background with a 50x50 patch of other texture moving `step` pixels right."""
    background = texture
    patch = np.ascontiguousarray(texture[::-1, ::-1][:50, :50])
    first, second = background.copy(), background.copy()
    first[50:100, 60:110] = patch
    second[50:100, 60 + step:110 + step] = patch
    return first, second


def test_the_check_flags_pixels_covered_in_the_other_frame_with_exact_flows():
    # A 20x30 frame: the object (columns 10-14) moves 6 pixels right; background still.
    forward = np.zeros((20, 30, 2), np.float32)
    forward[:, 10:15, 0] = 6.0
    backward = np.zeros((20, 30, 2), np.float32)
    backward[:, 16:21, 0] = -6.0
    visible = consistent_mask(forward, backward)
    assert visible[:, 10:15].all()  # the object is seen in both frames
    assert not visible[:, 16:21].any()  # background the object covers in the second frame
    assert visible[:, :10].all() and visible[:, 21:].all()
    weight = consistency_weight(forward, backward)
    assert weight.dtype == np.float32 and np.allclose(weight[:, 10:15], 1) and weight[:, 16:21].max() < 1e-6


def test_pixels_whose_flow_leaves_the_frame_are_not_visible():
    forward = np.zeros((20, 30, 2), np.float32)
    forward[..., 0] = 5.0  # the whole picture pans right: its right 5 columns leave
    backward = -forward
    visible = consistent_mask(forward, backward)
    assert visible[:, :25].all() and not visible[:, 26:].any()


def test_the_check_flags_an_occluded_region_with_estimated_flows(texture):
    first, second = moving_square(texture, 12)
    flow = FlowEstimator("medium")
    forward, backward = flow(first, second), flow(second, first)
    visible = consistent_mask(forward, backward)
    covered = visible[55:95, 113:120]  # background right of the square, under it in the second frame
    still = visible[10:40, 10:190]  # background far from the square
    assert covered.mean() < 0.3
    assert still.mean() > 0.95
    assert visible[55:95, 65:105].mean() > 0.8  # the square itself, seen in both
    weight = consistency_weight(forward, backward)
    assert weight[55:95, 113:120].mean() < 0.3 < 0.9 < weight[10:40, 10:190].mean()


def test_small_or_thin_frames_are_refused_instead_of_crashing_opencv():
    flow = FlowEstimator("fast")
    for shape in [(15, 100), (12, 40), (16, 200), (24, 1000)]:
        assert not flow.supports(shape)
    for shape in [(16, 16), (16, 40), (32, 1000), (240, 320)]:
        assert flow.supports(shape)
    tiny = np.zeros((12, 40), np.uint8)
    with pytest.raises(ValueError, match="at least 16"):
        flow(tiny, tiny)
    with pytest.raises(ValueError, match="one shape"):
        flow(np.zeros((20, 20), np.uint8), np.zeros((20, 21), np.uint8))
    with pytest.raises(ValueError, match="preset"):
        FlowEstimator("slow")


def test_one_estimator_gives_each_pair_its_own_flow_in_any_thread(texture):
    flow = FlowEstimator("fast", finest_scale=1)
    pairs = [(texture, shifted(texture, dx, 0.0)) for dx in (1.0, 2.5, -3.0, 0.5)]
    alone = [FlowEstimator("fast", finest_scale=1)(a, b) for a, b in pairs]
    again = [flow(a, b) for a, b in reversed(pairs)][::-1]  # reuse keeps nothing from the last pair
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda pair: flow(*pair), pairs))
    assert all(np.array_equal(x, y) and np.array_equal(x, z) for x, y, z in zip(alone, again, threaded))


@pytest.mark.parametrize("shape", [(12, 40), (16, 200)])
def test_stages_on_frames_too_small_for_flow_fall_back_instead_of_crashing(shape):
    from engine.stages import DustScratchRemoval, Interpolate, TemporalDenoise

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (*shape, 3), dtype=np.uint8) for _ in range(4)]
    assert len(list(DustScratchRemoval().apply(iter(frames)))) == 4
    assert len(list(TemporalDenoise().apply(iter(frames)))) == 4
    interpolate = Interpolate(fps=24.0)
    interpolate.bind(12.0)
    assert len(list(interpolate.apply(iter(frames)))) == 8


def test_the_warping_error_of_frames_too_small_for_flow_is_a_clear_error():
    from engine.metrics import warping_error

    frames = [np.zeros((12, 40, 3), np.uint8)] * 2
    with pytest.raises(ValueError, match="optical flow cannot follow motion in an image of 40x12 pixels"):
        warping_error(frames)
