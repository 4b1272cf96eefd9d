"""Faces in moving multi-person shots: detection (detect), alignment and paste-back (align),
tracking through a shot (track), per-person restoration with fusion, key frames and a bank of
the person's best frames (restore), and test clips with ground truth (synthetic). The `faces`
stage (engine/stages/faces.py) puts them together."""
