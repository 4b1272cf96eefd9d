from unittest import mock

import numpy as np
import pytest
from skimage import data

from engine.checkpoint import ChunkStore
from engine.errors import Cancelled, RecipeError
from engine.io import probe, read_video_frames
from engine.metrics import psnr
from engine.pipeline import Pipeline
from engine.recipes import recipe_from_dict
from engine.stages import Interpolate
from engine.synthetic import pan_frames
from tests.engine.helpers import checkpoint_frames


@pytest.fixture(scope="module")
def truth():
    """A smooth pan at 'double rate': odd frames are the ground truth for interpolation."""
    return list(pan_frames(data.astronaut(), count=25, size=(256, 192), shift_per_frame=1.5))


def interpolate(frames, input_fps, **params):
    stage = Interpolate(**params)
    stage.bind(input_fps)
    return list(stage.apply(iter(frames)))


def test_doubling_the_rate_recreates_the_missing_frames(truth):
    out = interpolate(truth[::2], 12.0, fps=24.0, dedupe=False)
    assert len(out) == 26  # 13 frames at 12 fps last as long as 26 at 24 fps
    made = [psnr(truth[j], out[j]) for j in range(1, 24, 2)]
    blended = [psnr(truth[j], ((truth[j - 1].astype(int) + truth[j + 1]) // 2).astype(np.uint8)) for j in range(1, 24, 2)]
    assert min(made) > max(blended) + 8  # dB; measured about 50 against 31
    assert all(np.array_equal(out[j], truth[j]) for j in range(0, 24, 2))  # input moments are kept as they are


@pytest.mark.parametrize("source_fps, target_fps, frames, expected", [(16, 24, 16, 24), (12, 30, 12, 30),
                                                                       (18, 24, 18, 24), (24, 24, 10, 10)])
def test_the_duration_is_kept(truth, source_fps, target_fps, frames, expected):
    assert len(interpolate(truth[:frames], source_fps, fps=target_fps)) == expected


def test_repeated_frames_are_replaced_by_motion_in_between(truth):
    # A transfer that repeats every third frame: 0 1 1 3 4 4 6 ... (the true 2, 5, ... are missing).
    repeated = [truth[i - 1] if i % 3 == 2 else truth[i] for i in range(18)]
    out = interpolate(repeated, 24.0, fps=24.0)
    assert len(out) == 18
    fixed = [psnr(truth[i], out[i]) for i in range(2, 17, 3)]
    held = [psnr(truth[i], repeated[i]) for i in range(2, 17, 3)]
    assert min(fixed) > max(held) + 10


def test_a_real_hold_longer_than_max_repeats_stays(truth):
    frames = [truth[0]] * 8 + [truth[1]]
    out = interpolate(frames, 24.0, fps=24.0, max_repeats=3)
    assert len(out) == 9
    assert all(np.array_equal(out[i], truth[0]) for i in range(4))


def test_one_rate_conversion_per_recipe():
    with pytest.raises(RecipeError, match="at most one 'interpolate'"):
        recipe_from_dict({"stages": [{"stage": "interpolate"}, {"stage": "interpolate", "params": {"fps": 60}}]})
    with pytest.raises(RecipeError, match="stages\\[0\\].params.fps"):
        recipe_from_dict({"stages": [{"stage": "interpolate", "params": {"fps": 500}}]})


RECIPE = {"name": "to-30", "stages": [{"stage": "deflicker", "params": {"radius": 3}},
                                      {"stage": "interpolate", "params": {"fps": 30}}]}


def test_pipeline_converts_12_to_30_fps_keeping_duration_and_audio(film_clip, tmp_path):
    result = Pipeline(recipe_from_dict(RECIPE)).run(film_clip, tmp_path / "out.mp4")
    info = probe(tmp_path / "out.mp4")
    assert (result.frames, info.frame_count, info.fps) == (60, 60, 30.0)
    assert info.duration == pytest.approx(2.0, abs=1 / 30)
    assert info.audio_codecs == ["aac"]


def test_resume_with_rate_conversion_gives_the_same_frames(film_clip, tmp_path):
    with mock.patch.object(ChunkStore, "remove"):
        Pipeline(recipe_from_dict(RECIPE), chunk_frames=8).run(film_clip, tmp_path / "a.mp4", checkpoint_dir=tmp_path / "full")
        with pytest.raises(Cancelled):
            Pipeline(recipe_from_dict(RECIPE), chunk_frames=8).run(
                film_clip, tmp_path / "b.mp4", checkpoint_dir=tmp_path / "ck",
                should_cancel=mock.Mock(side_effect=[False] * 37 + [True]))
        assert len(list((tmp_path / "ck").glob("chunk-*.mkv"))) == 3  # chunks of 10: 2 fps-patterns of 5
        Pipeline(recipe_from_dict(RECIPE), chunk_frames=8).run(film_clip, tmp_path / "b.mp4", checkpoint_dir=tmp_path / "ck")
    full, resumed = checkpoint_frames(tmp_path / "full"), checkpoint_frames(tmp_path / "ck")
    assert len(full) == len(resumed) == 60
    assert all(np.array_equal(a, b) for a, b in zip(full, resumed))


def test_dropped_frames_are_filled_by_time_when_converting(tmp_path):
    """A 16 fps capture that lost frames (timestamps jump) converted to 24 fps: the gap is filled
    with motion at the right moments, and the duration is kept."""
    from tests.engine.test_io_formats import encode

    # Ground truth on a 48 fps grid: 16 fps is every 3rd frame, 24 fps every 2nd.
    truth = list(pan_frames(data.astronaut(), count=3 * 16, size=(160, 120), shift_per_frame=0.5))
    kept = [0, 1, 2, 5, 6, 7, 8, 11, 12, 13, 14, 15]  # 16 fps frames that survived
    source = tmp_path / "dropped.mp4"
    with mock.patch("tests.engine.test_io_formats.pan_frames", lambda *a, **k: iter([truth[3 * k] for k in kept])):
        encode(source, "libx264", "yuv420p", count=len(kept), pts=kept)
    recipe = recipe_from_dict({"stages": [{"stage": "interpolate", "params": {"fps": 24, "dedupe": False}}]})
    Pipeline(recipe).run(source, tmp_path / "out.mp4")
    out = list(read_video_frames(tmp_path / "out.mp4"))
    assert len(out) == 24  # 16 frames' worth of time at 16 fps = 1 s
    in_gap = [j for j in range(24) if 2 * 3 < 2 * j < 5 * 3]  # moments inside the first gap (frames 3, 4 lost)
    filled = [psnr(truth[2 * j], out[j]) for j in in_gap]
    held = [psnr(truth[2 * j], truth[3 * 2]) for j in in_gap]  # what stretching frame 2 would show
    assert min(filled) > max(held) + 4, (filled, held)  # measured: 34.2-35.2 dB against 19-28.7
