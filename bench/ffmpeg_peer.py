"""The ffmpeg commands our stages are measured against (the binary of imageio-ffmpeg)."""
from __future__ import annotations

import subprocess
from functools import lru_cache

# Peer settings. ffmpeg's own defaults are made for light noise (nlmeans s=1 and hqdn3d 4:3:6:4.5
# barely touch gaussian noise of sigma 15), so the strengths are the best PSNR of a sweep on
# these clips: `python bench/run.py --only tune` repeats it. Every filter works on planar RGB,
# where the noise was added, with equal settings for the three planes (hqdn3d would otherwise
# treat G as luma and B, R as chroma).
NLMEANS = "format=gbrp,nlmeans=s=12"
HQDN3D = "format=gbrp,hqdn3d=16:16:24:24"
# ffmpeg's deflicker scales plane 0 only, so it needs YUV; 15 frames is our deflicker's window
# (radius 7).
DEFLICKER = "format=yuv444p,deflicker=size=15"


@lru_cache(maxsize=1)
def exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def version() -> str:
    out = subprocess.run([exe(), "-hide_banner", "-version"], capture_output=True, text=True).stdout
    return out.split("\n", 1)[0].removeprefix("ffmpeg version ").split(" Copyright")[0]


def _base(source: str) -> list[str]:
    return [exe(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-i", source, "-an"]


def filter_to_raw(source: str, output: str, vf: str) -> list[str]:
    """Filter `source` into a lossless raw RGB NUT file, as our stages' outputs are written."""
    return _base(source) + ["-vf", vf, "-c:v", "rawvideo", "-pix_fmt", "rgb24", "-f", "nut", output]


def transcode(source: str, output: str, vf: str | None = None) -> list[str]:
    """H.264 as our results are written (crf 18, veryfast, yuv420p, faststart)."""
    filters = ["-vf", vf] if vf else []
    return _base(source) + filters + ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
                                      "-movflags", "+faststart", output]
