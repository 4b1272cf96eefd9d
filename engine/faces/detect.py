"""Face detection: RetinaFace MobileNet-0.25 (ONNX, run by onnxruntime) with 5 landmarks.

The network gives, for every prior box of three feature maps (strides 8, 16, 32), box offsets,
a face score and 5 landmark offsets; the decoding, thresholding and non-maximum suppression
below are ours. Landmarks come in the order: eye on the image's left, eye on the image's right,
nose, mouth corner on the left, mouth corner on the right (the order of the alignment template).
"""
from __future__ import annotations

import ast
import os
import threading
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

MODEL_KEY = "retinaface-mobilenet0.25"
# The network was trained on BGR images with these channel means subtracted (no scaling).
BGR_MEAN = np.array([104.0, 117.0, 123.0], np.float32)
STRIDES = (8, 16, 32)
PRIOR_SIZES = ((16, 32), (64, 128), (256, 512))  # square prior sides, in input pixels, per stride
CENTER_VARIANCE, SIZE_VARIANCE = 0.1, 0.2
# Faces are found best when at least this many pixels wide at the network's input.
DETECTOR_MIN_SIDE = 24
MAX_INPUT_SIDE = 1920


@dataclass
class Face:
    box: np.ndarray  # (x0, y0, x1, y1) float32, frame pixels
    score: float
    landmarks: np.ndarray  # 5x2 float32 (x, y), frame pixels

    @property
    def size(self) -> float:
        """The face's side in pixels (geometric mean of the box's width and height)."""
        return float(np.sqrt(max(self.box[2] - self.box[0], 1) * max(self.box[3] - self.box[1], 1)))


_session = None
_session_lock = threading.Lock()


def model_bytes() -> bytes:
    """The ONNX model, read from the registry's verified file without importing its package."""
    from engine.models import registry

    path = registry.require(MODEL_KEY).paths[0]
    module = ast.parse(path.read_text())
    for node in module.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "WEIGHTS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise ValueError(f"{path} has no WEIGHTS constant")


def session():
    """One onnxruntime session per process, with few threads (workers share the machine's cores)."""
    global _session
    with _session_lock:
        if _session is None:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = int(os.environ.get("ENGINE_FACE_THREADS", "2"))
            options.inter_op_num_threads = 1
            _session = ort.InferenceSession(model_bytes(), options, providers=["CPUExecutionProvider"])
        return _session


@lru_cache(maxsize=8)
def prior_boxes(height: int, width: int) -> np.ndarray:
    """Nx4 (cx, cy, side, side) prior boxes in input pixels, in the network's output order:
    stride by stride, row by row, column by column, then the stride's two sizes."""
    priors = []
    for stride, sizes in zip(STRIDES, PRIOR_SIZES):
        rows, cols = -(-height // stride), -(-width // stride)
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        centers = np.stack([(xs.ravel() + 0.5) * stride, (ys.ravel() + 0.5) * stride], axis=1)
        for_cell = [np.hstack([centers, np.full((len(centers), 2), side)]) for side in sizes]
        priors.append(np.stack(for_cell, axis=1).reshape(-1, 4))
    return np.concatenate(priors).astype(np.float32)


def decode(loc: np.ndarray, landmarks: np.ndarray, priors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (x0, y0, x1, y1) and 5x2 landmarks from the network's offsets relative to the priors."""
    centers = priors[:, :2] + loc[:, :2] * CENTER_VARIANCE * priors[:, 2:]
    sides = priors[:, 2:] * np.exp(loc[:, 2:] * SIZE_VARIANCE)
    boxes = np.hstack([centers - sides / 2, centers + sides / 2])
    points = priors[:, None, :2] + landmarks.reshape(-1, 5, 2) * CENTER_VARIANCE * priors[:, None, 2:]
    return boxes, points


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (x0, y0, x1, y1) box with each of Nx4 boxes."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-6)


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> list[int]:
    """Indices of the boxes kept, best first: each drops the lower-scored boxes overlapping it."""
    order = list(np.argsort(-scores))
    kept = []
    while order:
        best = order.pop(0)
        kept.append(best)
        if order:
            overlaps = box_iou(boxes[best], boxes[order])
            order = [i for i, overlap in zip(order, overlaps) if overlap <= threshold]
    return kept


def detect_faces(rgb: np.ndarray, *, min_face: float = 24, score_threshold: float = 0.8,
                 nms_threshold: float = 0.4) -> list[Face]:
    """Faces in an HxWx3 uint8 RGB frame, largest score first.

    The frame is scaled so that a face of `min_face` pixels reaches the size the network finds
    reliably (enlarged for small faces, shrunk for big frames when faces are known to be big).
    """
    height, width = rgb.shape[:2]
    scale = DETECTOR_MIN_SIDE / max(min_face, 1.0)
    scale = min(scale, MAX_INPUT_SIDE / max(height, width))
    net_h, net_w = max(1, round(height * scale)), max(1, round(width * scale))
    resized = rgb if (net_h, net_w) == (height, width) else cv2.resize(
        rgb, (net_w, net_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    # Padded to a multiple of the coarsest stride so every feature map covers the whole input.
    pad_h, pad_w = -(-net_h // 32) * 32, -(-net_w // 32) * 32
    blob = np.zeros((pad_h, pad_w, 3), np.float32)
    blob[:net_h, :net_w] = resized[..., ::-1].astype(np.float32) - BGR_MEAN
    blob = blob.transpose(2, 0, 1)[None]
    loc, conf, landmarks = session().run(None, {"input": blob})
    priors = prior_boxes(pad_h, pad_w)
    scores = conf[0, :, 1]
    candidates = np.flatnonzero(scores > score_threshold)
    if len(candidates) == 0:
        return []
    boxes, points = decode(loc[0, candidates], landmarks[0, candidates], priors[candidates])
    kept = non_maximum_suppression(boxes, scores[candidates], nms_threshold)
    faces = []
    for i in kept:
        face = Face((boxes[i] / scale).astype(np.float32), float(scores[candidates[i]]),
                    (points[i] / scale).astype(np.float32))
        if face.size >= 0.75 * min_face:
            faces.append(face)
    return faces
