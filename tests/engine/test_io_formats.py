"""The containers and codecs old footage comes in, rotation metadata and variable frame rates."""
import subprocess
from fractions import Fraction

import av
import imageio_ffmpeg
import numpy as np
import pytest
from skimage import data

from engine.io import frame_times, is_variable_rate, probe, read_video_frames
from engine.pipeline import Pipeline
from engine.recipes import load_recipe
from engine.synthetic import pan_frames


def encode(path, codec, pix_fmt, count=8, size=(160, 120), pts=None, time_base=Fraction(1, 16)):
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=Fraction(16))
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], pix_fmt
        if pts is not None:
            stream.codec_context.time_base = time_base
        for i, rgb in enumerate(pan_frames(data.astronaut(), count=count, size=size)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = pts[i] if pts is not None else i
            frame.time_base = time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize("suffix, codec, pix_fmt", [
    ("mp4", "libx264", "yuv420p"), ("mov", "mpeg4", "yuv420p"), ("avi", "mjpeg", "yuvj420p"),
    ("mov", "prores_ks", "yuv422p10le"), ("webm", "libvpx-vp9", "yuv420p"), ("mkv", "libx265", "yuv420p10le"),
    ("mkv", "libx264", "yuv420p10le"),
])
def test_old_footage_formats_decode_frame_by_frame(tmp_path, suffix, codec, pix_fmt):
    path = encode(tmp_path / f"clip.{suffix}", codec, pix_fmt)
    info = probe(path)
    assert (info.kind, info.width, info.height) == ("video", 160, 120)
    frames = list(read_video_frames(path))
    assert len(frames) == 8 and frames[0].dtype == np.uint8 and frames[0].shape == (120, 160, 3)
    clean = next(pan_frames(data.astronaut(), count=1, size=(160, 120)))
    assert np.abs(frames[0].astype(int) - clean).mean() < 12  # the picture, not garbage


def test_rotation_metadata_is_applied(film_clip, tmp_path):
    rotated = tmp_path / "phone.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90",
                    "-i", str(film_clip), "-c", "copy", str(rotated)], check=True)
    info = probe(rotated)
    assert (info.width, info.height) == (240, 320)
    upright = next(read_video_frames(rotated))
    assert upright.shape == (320, 240, 3)
    assert np.array_equal(upright, np.rot90(next(read_video_frames(film_clip)), 1))
    Pipeline(load_recipe("film-light")).run(rotated, tmp_path / "out.mp4")
    assert (probe(tmp_path / "out.mp4").width, probe(tmp_path / "out.mp4").height) == (240, 320)


def test_variable_frame_rate_timing_is_kept(tmp_path):
    # A capture that stutters: frames 1/16 s apart, with some held for 3/16 s.
    pts = [0, 1, 2, 5, 6, 7, 10, 11, 12, 13]
    source = encode(tmp_path / "vfr.mp4", "libx264", "yuv420p", count=len(pts), pts=pts)
    times = frame_times(source)
    assert times == pytest.approx([p / 16 for p in pts])
    assert is_variable_rate(times, probe(source).fps)
    Pipeline(load_recipe("film-light")).run(source, tmp_path / "out.mp4")
    assert frame_times(tmp_path / "out.mp4") == pytest.approx(times, abs=1e-3)


def test_a_steady_rate_is_not_taken_for_variable(film_clip):
    times = frame_times(film_clip)
    assert len(times) == 24 and not is_variable_rate(times, 12.0)


@pytest.mark.parametrize("mode, fmt", [("I;16", "TIFF"), ("RGBA", "PNG"), ("L", "JPEG"), ("RGB", "WEBP")])
def test_still_formats_read_as_rgb(tmp_path, mode, fmt):
    from PIL import Image

    from engine.io import read_image

    gray = data.camera()[::4, ::4]
    if mode == "I;16":
        image = Image.fromarray(gray.astype(np.uint16) * 257)  # 16-bit: 0-65535
    elif mode == "RGBA":
        image = Image.fromarray(np.dstack([gray, gray, gray, np.full_like(gray, 255)]), "RGBA")
    else:
        image = Image.fromarray(gray).convert(mode)
    path = tmp_path / f"still.{fmt.lower()}"
    image.save(path, format=fmt, **({"quality": 95} if fmt in ("JPEG", "WEBP") else {}))
    assert probe(path).kind == "image"
    rgb = read_image(path)
    assert rgb.shape == (*gray.shape, 3) and rgb.dtype == np.uint8
    assert np.abs(rgb[..., 0].astype(int) - gray).mean() < 3


def test_every_audio_track_is_kept(tmp_path):
    source = tmp_path / "two-languages.mkv"
    with av.open(str(source), "w") as out:
        video = out.add_stream("libx264", rate=Fraction(12))
        video.width, video.height, video.pix_fmt = 160, 120, "yuv420p"
        tracks = [out.add_stream("aac", rate=48000), out.add_stream("libopus", rate=48000)]
        for track in tracks:
            track.layout = "stereo"
        for i, rgb in enumerate(pan_frames(data.astronaut(), count=12, size=(160, 120))):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 12)
            out.mux(video.encode(frame))
        for track in tracks:
            samples = np.zeros((2, 48000), np.float32)
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48000, 0, Fraction(1, 48000)
            out.mux(track.encode(frame))
            out.mux(track.encode(None))
        out.mux(video.encode(None))
    assert probe(source).audio_codecs == ["aac", "opus"]
    Pipeline(load_recipe("film-light")).run(source, tmp_path / "out.mp4")
    assert probe(tmp_path / "out.mp4").audio_codecs == ["aac", "aac"]  # opus re-encoded for mp4
