"""Face detection: RetinaFace MobileNet-0.25 (ONNX, run by onnxruntime) with 5 landmarks.

The network is loaded through the model loader; its prior boxes and the decoding of its offsets
are in engine/models/archs/retinaface, the thresholding and non-maximum suppression (OpenCV's)
here. Landmarks come in the order: eye on the image's left, eye on the image's right, nose,
mouth corner on the left, mouth corner on the right (the order of the alignment template).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from engine.models.archs.retinaface.priors import BGR_MEAN, decode, prior_boxes

MODEL_KEY = "retinaface-mobilenet0.25"
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
    from engine.models.loader import load_model  # torch: only where faces are detected

    loc, conf, landmarks = load_model(MODEL_KEY, task="face-detection").model.run(None, {"input": blob})
    priors = prior_boxes(pad_h, pad_w)
    scores = conf[0, :, 1]
    candidates = np.flatnonzero(scores > score_threshold)
    if len(candidates) == 0:
        return []
    boxes, points = decode(loc[0, candidates], landmarks[0, candidates], priors[candidates])
    # OpenCV takes (x, y, width, height) boxes and returns the kept indices, best score first.
    kept = cv2.dnn.NMSBoxes(np.hstack([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]]).tolist(),
                            scores[candidates].tolist(), score_threshold, nms_threshold)
    faces = []
    for i in np.asarray(kept, dtype=int).reshape(-1):
        face = Face((boxes[i] / scale).astype(np.float32), float(scores[candidates[i]]),
                    (points[i] / scale).astype(np.float32))
        if face.size >= 0.75 * min_face:
            faces.append(face)
    return faces
