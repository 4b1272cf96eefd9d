"""Restoration stages. Each stage is a dataclass of its parameters with `apply(frames) -> frames`.

A stage takes and yields HxWx3 uint8 RGB frames as iterators, holding at most the window of
neighbouring frames it needs, so memory does not grow with the length of a clip.
"""
from engine.stages.base import Stage, windowed
from engine.stages.colorize import Colorize
from engine.stages.deflicker import Deflicker
from engine.stages.denoise import TemporalDenoise
from engine.stages.descratch import DustScratchRemoval
from engine.stages.faces import FaceRestore
from engine.stages.interpolate import Interpolate
from engine.stages.sharpen import Sharpen
from engine.stages.superres import SuperResolution
from engine.stages.tone import Tone
from engine.stages.upscale import Upscale

STAGES: dict[str, type[Stage]] = {
    cls.name: cls for cls in (Deflicker, DustScratchRemoval, TemporalDenoise, Tone, Sharpen, Upscale, Interpolate,
                              FaceRestore, SuperResolution, Colorize)
}

__all__ = ["Stage", "STAGES", "windowed", "Deflicker", "DustScratchRemoval", "TemporalDenoise", "Tone", "Sharpen", "Upscale", "Interpolate"]
