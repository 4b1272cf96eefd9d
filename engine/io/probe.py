"""Find out what a file really is by decoding it, never by its name."""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from engine.errors import UnsupportedMedia
from engine.hashing import file_sha256

IMAGE_FORMATS = {"PNG", "JPEG", "TIFF", "WEBP"}
# Demuxers PyAV reports for the containers old footage comes in.
VIDEO_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm", "avi"}


@dataclass
class MediaInfo:
    kind: str  # "image" or "video"
    width: int
    height: int
    format: str
    fps: float = 0.0
    frame_count: int = 1
    duration: float = 0.0
    video_codec: str = ""
    pixel_format: str = ""
    audio_codecs: list[str] = field(default_factory=list)
    sha256: str = ""

    @property
    def pixels(self) -> int:
        return self.width * self.height

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_codecs)

    @property
    def browser_playable(self) -> bool:
        """Whether browsers play the file as it is: H.264 4:2:0 8-bit in mp4, with AAC or MP3 audio."""
        return (self.kind == "video" and self.format == "mov" and self.video_codec == "h264"
                and self.pixel_format in ("yuv420p", "yuvj420p")
                and all(codec in ("aac", "mp3") for codec in self.audio_codecs))

    def as_dict(self) -> dict:
        return asdict(self)


def probe(path: str | Path, *, max_pixels: int = 50_000_000) -> MediaInfo:
    """Decode enough of `path` to know its kind, size and timing.

    Raises UnsupportedMedia with a readable message when it is neither an allowed image nor a
    decodable video.
    """
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise UnsupportedMedia("The file is empty.")
    info = _probe_image(path, max_pixels) or _probe_video(path)
    info.sha256 = file_sha256(path)
    return info


def _probe_image(path: Path, max_pixels: int) -> MediaInfo | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                fmt = img.format
                width, height = img.size
                if fmt not in IMAGE_FORMATS:
                    return None
                if width * height > max_pixels:
                    raise UnsupportedMedia(
                        f"The image is {width}x{height} pixels; at most {max_pixels:,} pixels are allowed."
                    )
                img.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UnsupportedMedia("The image has too many pixels to be decoded safely.") from None
    except UnsupportedMedia:
        raise
    except Exception:  # Pillow raises many types for files that are not images.
        return None
    return MediaInfo(kind="image", width=width, height=height, format=fmt.lower())


def _probe_video(path: Path) -> MediaInfo:
    try:
        container = av.open(str(path))
    except Exception:
        raise UnsupportedMedia("The file is not an image or video we can read.") from None
    with container:
        if container.format.name not in VIDEO_CONTAINERS or not container.streams.video:
            raise UnsupportedMedia("The file is not an image or video we can read.")
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream))
        except Exception:
            raise UnsupportedMedia("The video stream is damaged: no frame could be decoded.") from None
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        duration = _duration_seconds(container, stream)
        frames = stream.frames or max(1, round(duration * float(rate)))
        sideways = round((first.rotation or 0) / 90) % 2 == 1
        return MediaInfo(
            kind="video",
            width=first.height if sideways else first.width,
            height=first.width if sideways else first.height,
            format=container.format.name.split(",")[0],
            fps=float(rate),
            frame_count=int(frames),
            duration=duration,
            video_codec=stream.codec_context.name,
            pixel_format=stream.codec_context.pix_fmt or "",
            audio_codecs=[a.codec_context.name for a in container.streams.audio],
        )


INCOMPLETE = "The video is incomplete or damaged: part of its data is missing or unreadable."
# How far short of its declared duration a stream's packets may end (rounding of edit lists and
# track durations), beyond one frame or audio packet.
END_SLACK_SECONDS = 0.25
# The tail that is decoded, from the last key frame at least this long before the end.
TAIL_SECONDS = 2.0


def verify_streams(path: str | Path) -> None:
    """Check that a video's data is all there, cheaply: every packet is demuxed without decoding
    (a read error or a packet cut short fails), the packets reach the duration the container
    declares (a file cut after its index, as a faststart mp4 cut short is, stops early), and the
    last seconds of every stream are decoded (garbage at the end fails there).

    Raises UnsupportedMedia(INCOMPLETE). Damage in the middle of a stream is not looked for.
    """
    with av.open(str(path)) as container:
        declared = _declared_ends(container)
        ends, keyframes = _demux_all(container)
        for index, declared_end in declared.items():
            if ends.get(index, float("-inf")) < declared_end:
                raise UnsupportedMedia(INCOMPLETE)
    with av.open(str(path)) as container:
        _decode_tail(container, keyframes, ends[container.streams.video[0].index])


def _declared_ends(container) -> dict[int | None, float]:
    """Where each stream (and, under None, the latest of them) says it ends, in seconds, less the slack."""
    ends: dict[int | None, float] = {}
    for stream in container.streams:
        if stream.type in ("video", "audio") and stream.duration and stream.time_base:
            start = float((stream.start_time or 0) * stream.time_base)
            ends[stream.index] = start + float(stream.duration * stream.time_base) - END_SLACK_SECONDS
    if container.duration:
        start = (container.start_time or 0) / av.time_base
        ends[None] = start + container.duration / av.time_base - END_SLACK_SECONDS
    return ends


def _demux_all(container) -> tuple[dict[int | None, float], list[float]]:
    """Read every packet without decoding: where each stream's packets end (None: the latest), and
    the video's key frame times."""
    video = container.streams.video[0]
    ends: dict[int | None, float] = {}
    keyframes: list[float] = []
    try:
        for packet in container.demux([s for s in container.streams if s.type in ("video", "audio")]):
            if packet.size == 0:  # the flush packet at the end of each stream
                continue
            if packet.is_corrupt:
                raise UnsupportedMedia(INCOMPLETE)
            stamp = packet.pts if packet.pts is not None else packet.dts
            if stamp is None:
                continue
            base = packet.time_base or packet.stream.time_base
            start = float(stamp * base)
            # A packet ends one frame later; the slack covers packets that carry no duration.
            end = float((stamp + (packet.duration or 0)) * base)
            index = packet.stream.index
            ends[index] = max(ends.get(index, end), end)
            ends[None] = max(ends.get(None, end), end)
            if index == video.index and packet.is_keyframe:
                keyframes.append(start)
    except UnsupportedMedia:
        raise
    except Exception:  # PyAV raises av.FFmpegError subclasses (and OSError) for unreadable data
        raise UnsupportedMedia(INCOMPLETE) from None
    if video.index not in ends:
        raise UnsupportedMedia(INCOMPLETE)
    return ends, keyframes


def _decode_tail(container, keyframes: list[float], video_end: float) -> None:
    """Decode every stream from the last key frame at least TAIL_SECONDS before the video's end
    (the last group of pictures, and the one before when that is short)."""
    video = container.streams.video[0]
    streams = [s for s in container.streams if s.type in ("video", "audio")]
    for stream in streams:
        stream.thread_type = "AUTO"
    if keyframes:
        start = max([t for t in keyframes if t <= video_end - TAIL_SECONDS] or [min(keyframes)])
        try:
            container.seek(round(start / float(video.time_base)), stream=video, backward=True)
        except Exception:
            raise UnsupportedMedia(INCOMPLETE) from None
    decoded = 0
    try:
        for packet in container.demux(streams):
            for frame in packet.decode():
                if packet.stream.index == video.index:
                    decoded += 1
    except Exception:  # a decoder that meets garbage raises InvalidDataError
        raise UnsupportedMedia(INCOMPLETE) from None
    if decoded == 0:
        raise UnsupportedMedia(INCOMPLETE)


def _duration_seconds(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0
