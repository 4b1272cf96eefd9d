import cv2
import numpy as np
import pytest
from skimage import data

from engine.errors import RecipeError
from engine.metrics import flicker_index, psnr
from engine.stages.sharpen import Sharpen
from engine.stages.tone import Tone, luma_levels
from engine.stages.upscale import Upscale, upscale_frame
from engine.synthetic import degrade, pan_frames


def rgb_photo(name: str) -> np.ndarray:
    photo = getattr(data, name)()
    return np.repeat(photo[..., None], 3, axis=2) if photo.ndim == 2 else photo


def luma_spread(frame: np.ndarray) -> float:
    levels = luma_levels(frame, 1, 99)
    return levels.white - levels.black


def chroma(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(frame, cv2.COLOR_RGB2YCrCb)[..., 1:].astype(int)


def fade(frame: np.ndarray, brightness: float = 0.0) -> np.ndarray:
    """A faded print: all of 0..255 squeezed into about 80..170, shifted by `brightness` levels."""
    return np.clip(80 + frame * (90 / 255) + brightness, 0, 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def clean_frames():
    photo = cv2.resize(data.astronaut(), (256, 256), interpolation=cv2.INTER_AREA)
    return list(pan_frames(photo, count=16, size=(192, 144), shift_per_frame=1.5))


@pytest.fixture(scope="module")
def faded_frames(clean_frames):
    rng = np.random.default_rng(1)
    return [fade(f, rng.uniform(-5, 5)) for f in clean_frames]


@pytest.fixture(scope="module")
def toned(faded_frames):
    return list(Tone().apply(iter(faded_frames)))


# Tone


def test_tone_restores_the_tonal_range_of_a_faded_clip(clean_frames, faded_frames, toned):
    assert len(toned) == len(faded_frames)
    assert all(out.shape == f.shape and out.dtype == np.uint8 for out, f in zip(toned, faded_frames))
    assert np.mean([luma_spread(f) for f in faded_frames]) < 90
    assert np.mean([luma_spread(f) for f in toned]) > 0.95 * np.mean([luma_spread(f) for f in clean_frames])
    before = np.mean([psnr(c, f) for c, f in zip(clean_frames, faded_frames)])
    after = np.mean([psnr(c, t) for c, t in zip(clean_frames, toned)])
    assert after > before + 5  # measured 14.4 -> 21.6 dB


def test_tone_does_not_amplify_the_brightness_jitter_between_frames(faded_frames, toned):
    # Stretching luminance 2.8x would stretch a frame-to-frame jump as much, were it kept.
    assert flicker_index(faded_frames) > 3
    assert flicker_index(toned) < flicker_index(faded_frames) / 3


def test_tone_is_steadier_with_a_window_than_frame_by_frame(clean_frames):
    # Scratches, dust and grain that change every frame move each frame's own percentiles.
    rng = np.random.default_rng(2)
    dirty = [fade(degrade(f, rng, flicker=0.0, grain=6, scratches=2, gray=False)) for f in clean_frames]
    frame_by_frame = list(Tone(radius=0).apply(iter(dirty)))
    windowed = list(Tone(radius=12).apply(iter(dirty)))
    assert flicker_index(windowed) < flicker_index(frame_by_frame) / 2


def test_tone_changes_luminance_only(faded_frames, toned):
    chroma_change = np.mean([np.abs(chroma(f) - chroma(t)).mean() for f, t in zip(faded_frames, toned)])
    assert chroma_change < 0.5


def test_tone_works_on_a_still_image(clean_frames):
    still = fade(clean_frames[0])
    (out,) = list(Tone().apply(iter([still])))
    assert out.shape == still.shape
    assert luma_spread(out) > 2.5 * luma_spread(still)
    assert psnr(clean_frames[0], out) > psnr(clean_frames[0], still) + 5


def test_tone_clahe_adds_local_contrast(faded_frames):
    def local_contrast(frame):
        luma = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY).astype(np.float32)
        return np.abs(cv2.Laplacian(luma, cv2.CV_32F)).mean()

    (plain,) = list(Tone(clahe=0.0).apply(iter(faded_frames[:1])))
    (local,) = list(Tone(clahe=2.0, tile=4).apply(iter(faded_frames[:1])))
    assert local_contrast(local) > 1.05 * local_contrast(plain)


def test_tone_leaves_a_flat_frame_flat():
    # A black leader or blank card has no range to stretch; its grain must not be blown up.
    rng = np.random.default_rng(7)
    leader = np.clip(20 + rng.normal(0, 2, (48, 64, 1)).repeat(3, axis=2), 0, 255).astype(np.uint8)
    (out,) = list(Tone().apply(iter([leader])))
    assert out.astype(float).std() < 4 * leader.astype(float).std() + 1
    assert abs(out.mean() - leader.mean()) < 40


def test_tone_output_depends_only_on_the_window(faded_frames):
    # What chunked resume relies on: a run started `radius` frames before frame k reproduces it.
    stage = Tone(radius=3, clahe=1.5)
    full = list(stage.apply(iter(faded_frames)))
    for k in (3, 9):
        resumed = list(stage.apply(iter(faded_frames[k - stage.radius:])))[stage.radius:]
        assert len(resumed) == len(full) - k
        assert all(np.array_equal(a, b) for a, b in zip(full[k:], resumed))


# Sharpen


def test_sharpen_brings_back_detail_of_a_blurred_photo():
    sharp = cv2.resize(rgb_photo("camera"), (256, 256), interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 1.5)
    (out,) = list(Sharpen().apply(iter([blurred])))
    assert out.shape == blurred.shape and out.dtype == np.uint8
    assert psnr(sharp, out) > psnr(sharp, blurred) + 0.5  # measured +0.9 dB


def test_sharpen_threshold_keeps_grain_from_being_amplified():
    rng = np.random.default_rng(3)
    flat = np.clip(128 + rng.normal(0, 3, (128, 128, 1)).repeat(3, axis=2), 0, 255).astype(np.uint8)
    (guarded,) = list(Sharpen(amount=0.8, threshold=5).apply(iter([flat])))
    (unguarded,) = list(Sharpen(amount=0.8, threshold=0).apply(iter([flat])))
    noise = flat.astype(float).std()
    assert guarded.astype(float).std() < 1.15 * noise
    assert unguarded.astype(float).std() > 1.4 * noise


def test_sharpen_changes_luminance_only():
    photo = cv2.resize(data.astronaut(), (128, 128), interpolation=cv2.INTER_AREA)
    (out,) = list(Sharpen(amount=1.5).apply(iter([photo])))
    assert not np.array_equal(out, photo)
    assert np.abs(chroma(out) - chroma(photo)).mean() < 1.0


# Upscale


@pytest.mark.parametrize("name, margin", [("camera", 0.1), ("astronaut", 0.25)])
def test_upscale_beats_bicubic_on_real_photos(name, margin):
    # Measured at scale 2: camera 30.10 -> 30.28 dB, astronaut 30.63 -> 31.07 dB.
    photo = rgb_photo(name)
    height, width = photo.shape[:2]
    small = cv2.resize(photo, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
    bicubic = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    (out,) = list(Upscale(scale=2).apply(iter([small])))
    assert out.shape == photo.shape and out.dtype == np.uint8
    assert psnr(photo, out) > psnr(photo, bicubic) + margin


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_output_is_exactly_scale_times_the_input(scale):
    frame = np.random.default_rng(scale).integers(0, 256, (23, 37, 3), dtype=np.uint8)
    out = upscale_frame(frame, scale)
    assert out.shape == (23 * scale, 37 * scale, 3)
    assert out.dtype == np.uint8


# Validation


@pytest.mark.parametrize("stage, field", [
    (Tone(radius=-1), "radius"),
    (Tone(black_percentile=30), "black_percentile"),
    (Tone(white_percentile=50), "white_percentile"),
    (Tone(clahe=-1), "clahe"),
    (Tone(tile=0), "tile"),
    (Sharpen(amount=-0.5), "amount"),
    (Sharpen(sigma=0), "sigma"),
    (Sharpen(threshold=300), "threshold"),
    (Upscale(scale=5), "scale"),
    (Upscale(amount=9), "amount"),
])
def test_bad_parameters_are_refused_naming_the_field(stage, field):
    with pytest.raises(RecipeError, match=rf"^{field}: "):
        stage.validate()


@pytest.mark.parametrize("stage", [Tone(), Sharpen(), Upscale()])
def test_defaults_are_valid(stage):
    stage.validate()
