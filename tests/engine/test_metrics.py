import cv2
import numpy as np
import pytest
from skimage import data

from engine.metrics import colorfulness, flicker_index, psnr, ssim, warping_error
from engine.synthetic import pan_frames


@pytest.fixture(scope="module")
def pan():
    """A pure pan over a photo: every frame is the previous one moved 2 pixels."""
    return list(pan_frames(data.astronaut(), count=8, size=(192, 144), shift_per_frame=2.0))


def noisy(frames, sigma, seed=0):
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8) for f in frames]


def test_identical_frames_score_perfectly(pan):
    assert psnr(pan[0], pan[0]) == float("inf")
    assert ssim(pan[0], pan[0]) == pytest.approx(1.0)


def test_ssim_drops_as_noise_grows(pan):
    light, heavy = noisy(pan[:1], 5)[0], noisy(pan[:1], 25)[0]
    assert 0.7 < ssim(pan[0], light) < 0.99
    assert ssim(pan[0], heavy) < ssim(pan[0], light) - 0.2


def test_a_gray_image_has_no_colorfulness():
    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)
    assert colorfulness(np.dstack([gray] * 3)) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("photo", [data.astronaut, data.coffee])
def test_color_photos_are_clearly_colorful(photo):
    rgb = photo()
    gray = np.dstack([cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)] * 3)
    assert colorfulness(rgb) > 30
    # Desaturating halfway to gray halves the opponent channels, and so the score.
    half = (rgb.astype(np.float64) + gray) / 2
    assert colorfulness(half) == pytest.approx(colorfulness(rgb) / 2, rel=0.02)


def test_a_pure_pan_has_almost_no_warping_error(pan):
    assert warping_error(pan) < 0.5  # levels of 0-255


def test_what_a_moving_object_uncovers_is_left_out_of_the_warping_error():
    background = cv2.resize(data.astronaut(), (192, 144), interpolation=cv2.INTER_AREA)
    patch = cv2.resize(data.coffee(), (60, 48), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(8):
        frame = background.copy()
        frame[50:98, 10 + 12 * i : 70 + 12 * i] = patch
        frames.append(frame)
    # Counting the background the patch uncovers each frame would give about 1.9 levels.
    assert warping_error(frames) < 1.2


def test_noise_that_changes_per_frame_raises_the_warping_error(pan):
    grainy = noisy(pan, 10)
    # Independent noise of sigma 10 in two frames differs by about 1.13 * 10 levels on average.
    assert 8 < warping_error(grainy, reference_frames=pan) < 14
    assert warping_error(grainy) > 5


def test_flicker_raises_the_warping_error(pan):
    gains = np.random.default_rng(1).uniform(0.8, 1.2, len(pan))
    flickering = [np.clip(f * gain, 0, 255).astype(np.uint8) for f, gain in zip(pan, gains)]
    assert flicker_index(flickering) > 5
    assert warping_error(flickering, reference_frames=pan) > 5


def test_warping_error_needs_two_frames_and_matching_references(pan):
    assert warping_error(pan[:1]) == 0.0
    with pytest.raises(ValueError):
        warping_error(pan[:3], reference_frames=pan[:2])
