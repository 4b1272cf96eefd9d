import av
import numpy as np
import pytest
from PIL import Image

from engine.errors import UnsupportedMedia
from engine.io import VideoEncoder, mux_with_audio, probe, read_video_frames


def audio_seconds(path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


def test_probe_reads_video_facts_by_decoding(film_clip):
    info = probe(film_clip)
    assert (info.kind, info.width, info.height, info.frame_count) == ("video", 320, 240, 24)
    assert info.fps == pytest.approx(12.0)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert info.audio_codecs == ["aac"]
    assert len(info.sha256) == 64


def test_decoder_is_flushed_so_no_frame_is_lost(film_clip):
    assert sum(1 for _ in read_video_frames(film_clip)) == 24


def test_reencode_keeps_frame_count_and_copies_aac_audio(film_clip, tmp_path):
    with VideoEncoder(tmp_path / "v.mp4", fps=12) as encoder:
        for frame in read_video_frames(film_clip):
            encoder.write(frame)
    mux_with_audio(tmp_path / "v.mp4", film_clip, tmp_path / "out.mp4")
    info = probe(tmp_path / "out.mp4")
    assert (info.frame_count, info.video_codec, info.audio_codecs) == (24, "h264", ["aac"])
    assert audio_seconds(tmp_path / "out.mp4") == pytest.approx(audio_seconds(film_clip), abs=0.05)
    with av.open(str(tmp_path / "out.mp4")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_pcm_audio_is_reencoded_to_aac_and_odd_sizes_are_padded(pcm_clip, tmp_path):
    with VideoEncoder(tmp_path / "v.mp4", fps=16) as encoder:
        for frame in read_video_frames(pcm_clip):
            encoder.write(frame[:119, :159])
    mux_with_audio(tmp_path / "v.mp4", pcm_clip, tmp_path / "out.mp4")
    info = probe(tmp_path / "out.mp4")
    assert info.audio_codecs == ["aac"]
    assert (info.width, info.height, info.frame_count) == (160, 120, 10)
    assert audio_seconds(tmp_path / "out.mp4") == pytest.approx(10 / 16, abs=0.05)


def test_faststart_puts_the_index_before_the_media(film_clip, tmp_path):
    with VideoEncoder(tmp_path / "v.mp4", fps=12) as encoder:
        for frame in read_video_frames(film_clip):
            encoder.write(frame)
    head = (tmp_path / "v.mp4").read_bytes()
    assert head.find(b"moov") < head.find(b"mdat")


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "not an image or video"),
    (b"GIF89a" + b"\0" * 100, "not an image or video"),
])
def test_probe_refuses_what_is_not_allowed_media(tmp_path, content, message):
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    with pytest.raises(UnsupportedMedia, match=message):
        probe(path)


def test_probe_refuses_a_truncated_video(film_clip, tmp_path):
    path = tmp_path / "cut.mp4"
    path.write_bytes(film_clip.read_bytes()[:3000])
    with pytest.raises(UnsupportedMedia):
        probe(path)


def test_probe_refuses_a_decompression_bomb(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)  # tiny file, 400 megapixels once decoded
    assert path.stat().st_size < 200_000
    with pytest.raises(UnsupportedMedia, match="pixels"):
        probe(path, max_pixels=40_000_000)


def test_probe_reads_images_whatever_their_name(tmp_path):
    path = tmp_path / "photo.mp4"
    Image.fromarray(np.zeros((30, 40, 3), np.uint8)).save(path, format="JPEG")
    info = probe(path)
    assert (info.kind, info.format, info.width, info.height) == ("image", "jpeg", 40, 30)


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_one_frame_by_index_equals_that_frame_of_a_full_decode(tmp_path, codec):
    """Seeking to a keyframe and decoding forward finds exactly the frame a full decode gives,
    B-frames (H.264) and all."""
    from skimage import data

    from engine.io import read_video_frame
    from engine.synthetic import pan_frames, write_clip

    path = tmp_path / "pan.mp4"
    write_clip(path, pan_frames(data.astronaut(), count=300, size=(160, 120), shift_per_frame=0.7), fps=25,
               video_codec=codec)
    every = list(read_video_frames(path))
    assert len(every) == 300
    for index in (0, 1, 2, 149, 250, 251, 299):
        assert np.array_equal(read_video_frame(path, index), every[index]), index
    assert read_video_frame(path, 300) is None and read_video_frame(path, -1) is None
