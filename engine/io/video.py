"""Streaming video decode and browser-playable encode (PyAV), with every audio track kept."""
from __future__ import annotations

import heapq
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from engine.errors import UnsupportedMedia

# Audio codecs an mp4 can carry as they are; anything else is re-encoded to AAC.
MP4_AUDIO_COPY = {"aac", "mp3", "alac"}


def read_video_frames(path: str | Path, start: int = 0) -> Iterator[np.ndarray]:
    """Yield the frames of the first video stream as HxWx3 uint8 RGB, one at a time, from index `start`.

    Frames before `start` are decoded (so the index is exact) but not converted. PyAV's `decode`
    feeds the final empty packet, so the decoder's last frames are kept.
    """
    try:
        container = av.open(str(path))
    except Exception:
        raise UnsupportedMedia("The video could not be opened.") from None
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for index, frame in enumerate(container.decode(stream)):
                if index >= start:
                    yield upright(frame)
        except av.FFmpegError as exc:
            raise UnsupportedMedia(f"The video stream is damaged: {exc}") from None


def read_video_frame(path: str | Path, index: int) -> np.ndarray | None:
    """Frame `index` (as `read_video_frames` counts) as HxWx3 uint8 RGB, or None past the end.

    Seeks to the keyframe before it and decodes from there, so a frame late in a long clip costs
    about one group of pictures, not the whole clip. Frames are found by presentation timestamp;
    a stream without timestamps is decoded from the start.
    """
    try:
        container = av.open(str(path))
    except Exception:
        raise UnsupportedMedia("The video could not be opened.") from None
    with container:
        stream = container.streams.video[0]
        packets = [p.pts for p in container.demux(stream) if p.size]
        if index < 0 or index >= len(packets):
            return None
        if any(pts is None for pts in packets):
            container.close()
            return next(read_video_frames(path, start=index), None)
        target = sorted(packets)[index]
        container.seek(target, stream=stream, backward=True, any_frame=False)
        try:
            for frame in container.decode(stream):
                if frame.pts is not None and frame.pts >= target:
                    return upright(frame)
        except av.FFmpegError as exc:
            raise UnsupportedMedia(f"The video stream is damaged: {exc}") from None
    return None


def upright(frame: av.VideoFrame) -> np.ndarray:
    """The frame as HxWx3 uint8 RGB, turned as its display matrix says (phones record sideways)."""
    rgb = frame.to_ndarray(format="rgb24")
    quarter_turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, quarter_turns)) if quarter_turns else rgb


def is_variable_rate(times: list[float], fps: float) -> bool:
    """Whether frame `times` (seconds) stray from a steady 1/`fps` by more than a quarter frame."""
    if len(times) < 2 or fps <= 0:
        return False
    return any(abs((b - a) * fps - 1) > 0.25 for a, b in zip(times, times[1:]))


def frame_times(path: str | Path) -> list[float]:
    """Presentation time of every frame of the first video stream, in seconds from the first.

    Read from packet timestamps without decoding, so it is cheap; a variable-frame-rate clip keeps
    its timing when these are given to VideoEncoder.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stamps = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
        if not stamps:
            return []
        return [float((pts - stamps[0]) * stream.time_base) for pts in stamps]


class VideoEncoder:
    """Write HxWx3 uint8 RGB frames to a video-only H.264 mp4 (yuv420p, faststart).

    Odd sizes are padded by one replicated row/column, as yuv420p needs even sizes.
    `crf` is x264's quality (lower is better; 0 is lossless). `times` (seconds, one per frame)
    keeps a variable frame rate; without it frames are 1/`fps` apart.
    """

    # Fine enough for any frame rate's timestamps (the MPEG clock).
    VFR_TIME_BASE = Fraction(1, 90000)

    def __init__(self, path: str | Path, *, fps: float, crf: int = 18, preset: str = "veryfast",
                 times: list[float] | None = None):
        self.path = str(path)
        self.rate = Fraction(fps).limit_denominator(1001)
        self.times = times
        self.crf = crf
        self.preset = preset
        self._container = None
        self._stream = None
        self.frames_written = 0

    def __enter__(self) -> "VideoEncoder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close()

    def _open(self, height: int, width: int) -> None:
        self._container = av.open(self.path, mode="w", format="mp4", options={"movflags": "+faststart"})
        stream = self._container.add_stream("libx264", rate=self.rate)
        stream.width = width + width % 2
        stream.height = height + height % 2
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf), "preset": self.preset}
        stream.thread_type = "AUTO"  # frame threads; PyAV's default (slices) leaves cores idle
        if self.times is not None:
            stream.codec_context.time_base = self.VFR_TIME_BASE
        self._stream = stream

    def write(self, rgb: np.ndarray) -> None:
        if self._container is None:
            self._open(*rgb.shape[:2])
        pad_h, pad_w = self._stream.height - rgb.shape[0], self._stream.width - rgb.shape[1]
        if pad_h or pad_w:
            rgb = np.pad(rgb, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        if self.times is not None:
            frame.pts = round(self._time_of(self.frames_written) / self.VFR_TIME_BASE)
            frame.time_base = self.VFR_TIME_BASE
        else:
            frame.pts = self.frames_written
            frame.time_base = 1 / self.rate
        self._container.mux(self._stream.encode(frame))
        self.frames_written += 1

    def _time_of(self, index: int) -> float:
        if index < len(self.times):
            return self.times[index]
        # More frames than timestamps (a stream that lied about its length): go on at the nominal rate.
        return (self.times[-1] if self.times else 0.0) + (index - len(self.times) + 1) / float(self.rate)

    def close(self) -> None:
        if self._container is None:
            return
        self._container.mux(self._stream.encode(None))
        self._container.close()
        self._container = None


def mux_with_audio(video_path: str | Path, audio_source: str | Path, out_path: str | Path) -> None:
    """Write `out_path`: the video stream of `video_path` plus every audio track of `audio_source`.

    Audio is copied when mp4 can carry its codec, else re-encoded to AAC. Packets are interleaved
    by time, so memory stays bounded whatever the length. The output gets faststart.
    """
    with av.open(str(video_path)) as video_in, av.open(str(audio_source)) as audio_in, av.open(
        str(out_path), mode="w", format="mp4", options={"movflags": "+faststart"}
    ) as out:
        video_stream = video_in.streams.video[0]
        sources = [_packets(video_in, {video_stream.index: out.add_stream_from_template(video_stream)})]
        copied = {}
        for track in audio_in.streams.audio:
            if track.codec_context.name in MP4_AUDIO_COPY:
                copied[track.index] = out.add_stream_from_template(track)
            else:
                encoder = out.add_stream("aac", rate=track.codec_context.sample_rate or 48000)
                encoder.layout = _standard_layout(track.codec_context.layout.nb_channels)
                encoder.format = "fltp"
                sources.append(_encoded_audio(str(audio_source), track.index, encoder))
        if copied:
            sources.append(_packets(audio_in, copied))
        for packet in heapq.merge(*sources, key=_packet_seconds):
            out.mux(packet)


def _packets(container, targets: dict):
    """Copy the packets of the streams in `targets` (input index -> output stream)."""
    wanted = [s for s in container.streams if s.index in targets]
    for packet in container.demux(*wanted):
        if packet.dts is None:  # the demuxer's final flush packet
            continue
        packet.stream = targets[packet.stream.index]
        yield packet


def _encoded_audio(path: str, index: int, encoder):
    """Decode one audio track on its own container (so demuxing stays independent) and encode it."""
    with av.open(path) as container:
        track = container.streams[index]
        for frame in container.decode(track):
            frame.pts = None  # let the encoder number samples continuously
            yield from encoder.encode(frame)
        yield from encoder.encode(None)


def _standard_layout(channels: int) -> str:
    """A named layout for a channel count (PCM tracks often carry only "N channels")."""
    return {1: "mono", 2: "stereo", 3: "2.1", 4: "quad", 5: "5.0", 6: "5.1", 8: "7.1"}.get(channels, "stereo")


def _packet_seconds(packet) -> float:
    if packet.dts is None or packet.time_base is None:
        return 0.0
    return float(packet.dts * packet.time_base)


def transcode_for_web(source: str | Path, output: str | Path, *, crf: int = 20) -> int:
    """Re-encode any decodable video to browser-playable H.264 mp4 with its audio; returns frames written.

    Rotation is applied and a variable frame rate keeps its timing, as in a restoration.
    """
    from engine.io.probe import probe

    info = probe(source)
    times = frame_times(source)
    output = Path(output)
    video_only = output.with_name(output.stem + ".video-only.mp4")
    try:
        with VideoEncoder(video_only, fps=info.fps, crf=crf,
                          times=times if is_variable_rate(times, info.fps) else None) as encoder:
            for frame in read_video_frames(source):
                encoder.write(frame)
        if info.has_audio:
            mux_with_audio(video_only, source, output)
        else:
            video_only.replace(output)
    finally:
        video_only.unlink(missing_ok=True)
    return encoder.frames_written
