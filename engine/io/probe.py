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


def _duration_seconds(container, stream) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return 0.0
