import cv2
import numpy as np
import pytest
from skimage import data

from engine.metrics import flicker_index, psnr
from engine.stages import Deflicker, TemporalDenoise, windowed
from engine.synthetic import pan_frames


@pytest.fixture(scope="module")
def clean_frames():
    return list(pan_frames(data.astronaut(), count=16, size=(192, 144), shift_per_frame=1.5))


@pytest.mark.parametrize("radius", [0, 1, 3])
def test_windowed_gives_every_item_once_with_its_clipped_neighbourhood(radius):
    seen = [(window[center], len(window)) for window, center in windowed(range(7), radius)]
    assert [item for item, _ in seen] == list(range(7))
    assert all(size <= 2 * radius + 1 for _, size in seen)


def test_deflicker_removes_exposure_flicker(clean_frames):
    rng = np.random.default_rng(3)
    flickering = [np.clip(f * rng.uniform(0.75, 1.25) + rng.uniform(-12, 12), 0, 255).astype(np.uint8)
                  for f in clean_frames]
    steadied = list(Deflicker(radius=7).apply(iter(flickering)))
    assert len(steadied) == len(flickering)
    before, after = flicker_index(flickering), flicker_index(steadied)
    assert before > 8
    assert after < before / 3


def test_deflicker_leaves_a_steady_exposure_alone(clean_frames):
    rng = np.random.default_rng(4)
    grainy = [np.clip(clean_frames[0] + rng.normal(0, 4, clean_frames[0].shape), 0, 255).astype(np.uint8)
              for _ in range(10)]
    steadied = list(Deflicker(radius=7).apply(iter(grainy)))
    assert min(psnr(a, b) for a, b in zip(grainy, steadied)) > 45


def test_deflicker_changes_luminance_only(clean_frames):
    rng = np.random.default_rng(0)
    frames = [np.clip(f * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8) for f in clean_frames[:5]]
    out = list(Deflicker(radius=2).apply(iter(frames)))
    chroma_in = cv2.cvtColor(frames[2], cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)
    chroma_out = cv2.cvtColor(out[2], cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)
    assert np.abs(chroma_in - chroma_out).mean() < 1.0
    assert not np.array_equal(frames[2], out[2])


def test_temporal_denoise_recovers_detail_on_a_moving_shot(clean_frames):
    rng = np.random.default_rng(5)
    noisy = [np.clip(f + rng.normal(0, 15, f.shape), 0, 255).astype(np.uint8) for f in clean_frames]
    denoised = list(TemporalDenoise(radius=2, strength=15).apply(iter(noisy)))
    inner = range(2, len(clean_frames) - 2)
    gain = np.mean([psnr(clean_frames[i], denoised[i]) - psnr(clean_frames[i], noisy[i]) for i in inner])
    assert gain > 3.0  # dB


def test_denoise_estimates_two_flows_a_frame_and_composes_the_longer_hops(clean_frames, monkeypatch):
    """Each neighbouring pair's flow is estimated once (both ways); t -> t+2 is composed from the two
    steps and lands where a direct estimate does (the pan moves 1.5 px a frame, 3 px over two)."""
    from engine.flow import FlowEstimator
    from engine.stages.denoise import AdjacentFlows

    calls = []
    estimate = FlowEstimator.__call__
    monkeypatch.setattr(FlowEstimator, "__call__", lambda self, a, b: calls.append(1) or estimate(self, a, b))
    frames = clean_frames[:10]
    list(TemporalDenoise(radius=3, strength=15).apply(iter(frames)))
    assert len(calls) == 2 * (len(frames) - 1)  # direct estimates would be about 6 a frame at radius 3

    grays = {i: cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for i, f in enumerate(frames)}
    composed = AdjacentFlows(FlowEstimator("fast")).between(grays, 2, 4)
    direct = FlowEstimator("fast")(grays[2], grays[4])
    inner = (slice(16, -16), slice(16, -16))
    assert np.abs(composed[inner] - direct[inner]).mean() < 0.3  # pixels
    assert np.abs(np.linalg.norm(composed[inner], axis=2).mean() - 3.0) < 0.5


def test_denoise_on_a_single_image_falls_back_to_spatial(clean_frames):
    rng = np.random.default_rng(6)
    noisy = np.clip(clean_frames[0] + rng.normal(0, 15, clean_frames[0].shape), 0, 255).astype(np.uint8)
    (out,) = list(TemporalDenoise(strength=15).apply(iter([noisy])))
    assert psnr(clean_frames[0], out) > psnr(clean_frames[0], noisy) + 2
