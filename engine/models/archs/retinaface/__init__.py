"""RetinaFace MobileNet-0.25 (ONNX): its detector, and the decoding of its outputs into faces."""
