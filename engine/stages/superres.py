"""Super-resolution with Real-ESRGAN (engine/models/archs: RRDBNet, SRVGGNetCompact, run tile by
tile by engine/models/tiling.py), or the classical Lanczos upscale when the model's weights are
not installed; provenance says which ran."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Iterable, Iterator

import cv2
import numpy as np

from engine.errors import EngineError
from engine.notes import Note
from engine.stages.base import Stage
from engine.stages.upscale import upscale_frame

MODELS = ("realesr-animevideov3", "realesrgan-x4plus")

# Tile sides when the recipe leaves it to the device. On an H200 (bench/gpu.py, bench/RESULTS.md)
# 512 px tiles ran x4plus on a 480p frame 2.1x faster than 256 px ones for 1.6 GB of GPU memory, and
# larger tiles gained little more for far more memory. On the CPU 256 px is the faster: the compact
# x2 model took 2.5 s for a 480p frame against 3.0 s with 512 px tiles (2 cores).
TILE_BY_DEVICE = {"cpu": 256, "cuda": 512}


@dataclass
class SuperResolution(Stage):
    """Enlarge each frame `scale` times (2, 3 or 4) with a learned Real-ESRGAN model.

    `model`: "realesr-animevideov3" (compact, fast, x2/x3/x4) or "realesrgan-x4plus" (large,
    slower, x4; at scale 2 its x4 output is reduced with area averaging). `tile`: frames are run
    in tiles of this many pixels, which bounds memory; 0 (the default) lets the device decide
    (TILE_BY_DEVICE). `device`: auto (CUDA when there is one),
    cpu or cuda. Without the model's files the stage falls back to Lanczos and says so.
    """

    name: ClassVar[str] = "superres"
    model: str = "realesr-animevideov3"
    scale: int = 2
    tile: int = 0
    device: str = "auto"

    def __post_init__(self):
        self._models: list[dict] = []
        self._notes: list[str] = []

    def validate(self) -> None:
        self.require(self.model in MODELS, "model", f"must be one of {', '.join(MODELS)}")
        if self.model == "realesrgan-x4plus":
            self.require(self.scale in (2, 4), "scale", "must be 2 or 4 with realesrgan-x4plus")
        else:
            self.require(self.scale in (2, 3, 4), "scale", "must be 2, 3 or 4")
        self.require(self.tile == 0 or 64 <= self.tile <= 4096, "tile",
                     "must be 0 (chosen by the device) or between 64 and 4096 pixels")
        self.require(self.device in ("auto", "cpu", "cuda"), "device", "must be auto, cpu or cuda")

    @property
    def needs_gpu(self) -> bool:
        # The compact model runs a few frames a second on a CPU; x4plus is far slower.
        return self.model == "realesrgan-x4plus"

    def model_key(self) -> str:
        return "realesrgan-x4plus" if self.model == "realesrgan-x4plus" else f"{self.model}-x{self.scale}"

    def provenance(self) -> dict:
        return {"models": list(self._models), "notes": list(self._notes)}

    def apply(self, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        enlarge = self._prepare()
        for frame in frames:
            yield enlarge(frame)

    def _torch_device(self) -> str:
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"

    def _prepare(self) -> Callable[[np.ndarray], np.ndarray]:
        """The per-frame function: the learned model when it loads, else Lanczos (with a note)."""
        from engine.models import registry

        self._models, self._notes = [], []
        key = self.model_key()
        if not registry.is_available(key):
            return self._fallback(registry.status(key, check_hash=False).message)
        try:
            from engine.models.loader import load_model
            from engine.models.tiling import upscale_image

            model = load_model(key, device=self._torch_device(), task="super-resolution")
        except EngineError as error:  # damaged or mismatched weights: still deliver, and say why
            return self._fallback(str(error))
        self._models.append(model.record())
        reduce_to = self.scale if model.scale != self.scale else None
        tile = self.tile or TILE_BY_DEVICE[self._torch_device()]

        def enlarge(frame: np.ndarray) -> np.ndarray:
            big = upscale_image(model, frame, tile=tile)
            if reduce_to:  # x4plus asked for x2: area averaging keeps its detail without aliasing
                height, width = frame.shape[:2]
                big = cv2.resize(big, (width * reduce_to, height * reduce_to), interpolation=cv2.INTER_AREA)
            return big

        return enlarge

    def _fallback(self, reason: str) -> Callable[[np.ndarray], np.ndarray]:
        self._notes.append(Note("superres.model_unused", f"{self.model_key()} was not used ({reason}); frames enlarged "
                                f"x{self.scale} with the classical Lanczos upscale instead", model=self.model_key(),
                                scale=self.scale, reason=reason))
        return lambda frame: upscale_frame(frame, self.scale)
