"""Automatic colour from the network of Zhang, Isola and Efros, "Colorful Image Colorization"
(ECCV 2016): its released checkpoint loaded through the model loader (the network is ours, in
engine/models/archs/eccv16), and the chroma it predicts for a frame.

The prediction reads the annealed mean of the network's colour distribution (T = 0.38, the
paper's choice): more vivid and less brown than the plain mean.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from engine.color.space import lab_lightness, lab_to_chroma

# torch and the model loader are imported when a colorizer is loaded or run: every process of the
# site reads the recipes, and so this module, but only a worker runs the network.
if TYPE_CHECKING:
    from engine.models.descriptor import ModelDescriptor

MODEL_KEY = "zhang-eccv16"
ANNEALED_TEMPERATURE = 0.38


def load(key: str = MODEL_KEY) -> ModelDescriptor:
    """The verified colorizer `key` on the CPU, loaded once per process (later calls are free).
    Raises ModelMissing / ModelCorrupt (ModelLoadError)."""
    from engine.models.loader import load_model

    return load_model(key, task="colorization")


def predict_chroma(model: ModelDescriptor, frame_rgb: np.ndarray,
                   temperature: float = ANNEALED_TEMPERATURE) -> np.ndarray:
    """HxWx2 chroma (our space) the network predicts for an HxWx3 uint8 RGB frame (or HxW gray);
    its colour, if any, is ignored."""
    import torch

    height, width = frame_rgb.shape[:2]
    if frame_rgb.ndim == 2:
        frame_rgb = np.repeat(frame_rgb[..., None], 3, axis=2)
    small = cv2.resize(frame_rgb, (model.size, model.size), interpolation=cv2.INTER_AREA)
    lightness = torch.from_numpy(lab_lightness(small))[None, None]
    with torch.inference_mode():
        ab = model.model(lightness, temperature=temperature)[0].permute(1, 2, 0).numpy()
    ab_full = cv2.resize(ab, (width, height), interpolation=cv2.INTER_LINEAR)
    return lab_to_chroma(lab_lightness(frame_rgb), ab_full)
