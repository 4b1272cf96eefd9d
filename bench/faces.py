"""Faces in a moving multi-person shot: per-frame face restoration against our tracked,
multi-frame path, on damaged film with ground truth.

Three real faces (engine.faces.synthetic: the astronaut's face three ways) move through a shot,
two of them crossing; the clean frames are made gray and soft, then engine.synthetic's old-film
damage (flicker, grain, dust, a scratch) is added. Compared on the same restorer:
- per-frame: detect, align, restore and paste back every face in every frame, independently
  (what GPEN's own face_enhancement script does for each image);
- ours: the faces stage's path (tracking, smoothed landmarks, fusion of neighbouring frames,
  the restorer on key frames only, detail carried between them);
- ours, restorer on every frame: the same with a key frame at every frame (what the key frames
  save, and what carrying detail between them does to flicker);
- ours, fusion only: the same with no restorer.
The restorer is GPEN when its weights are installed, else the fallback (Real-ESRGAN compact on
the aligned face). Scores: landmark jitter of the landmarks each path aligns with, face flicker
(temporal change of the aligned face beyond the true face's), PSNR / SSIM of the face regions
(aligned 128 px crops of output and ground truth, same alignment), restorer calls and time per
face.

The faces stage runs after deflicker, descratch and denoise in the film-faces recipe, so every
path gets the damaged frames through those stages first (--before none: the raw damage).

Usage: python bench/faces.py [--frames 32] [--size 480x360] [--key-every 8] [--before recipe|none]
                             [--save DIR]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from engine.faces.align import align_face, alignment_matrix, paste_back  # noqa: E402
from engine.faces.detect import detect_faces  # noqa: E402
from engine.faces.restore import CountingRestorer, FaceVideoRestorer  # noqa: E402
from engine.faces.synthetic import moving_faces_clip  # noqa: E402
from engine.faces.track import FaceTracker, smooth_landmarks  # noqa: E402
from engine.metrics import face_flicker, landmark_jitter, psnr, ssim  # noqa: E402
from engine.recipes import load_recipe  # noqa: E402
from engine.stages.faces import FaceRestore  # noqa: E402
from engine.synthetic import degrade  # noqa: E402

SCORE_SIZE = 128  # aligned crop side the face regions are scored at


def gray3(rgb: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)


def truth_alignment(clean: list[np.ndarray]) -> dict[int, dict[int, np.ndarray]]:
    """Per person (track on the clean frames), per frame: the scoring alignment matrix, from the
    clean frames' landmarks, smoothed, so output and truth are cut out the same way."""
    tracker = FaceTracker()
    observed: dict[int, dict[int, np.ndarray]] = {}
    for index, frame in enumerate(clean):
        faces = detect_faces(frame)
        for track_id, face in zip(tracker.update(index, faces), faces):
            observed.setdefault(track_id, {})[index] = face.landmarks
    return {track_id: {i: alignment_matrix(smooth_landmarks(points, i, 3), SCORE_SIZE) for i in points}
            for track_id, points in observed.items() if len(points) >= 4}


def face_scores(output: list[np.ndarray], clean: list[np.ndarray], alignments) -> dict:
    flickers, psnrs, ssims = [], [], []
    for per_frame in alignments.values():
        frames = sorted(per_frame)
        faces = [align_face(output[i], per_frame[i], SCORE_SIZE) for i in frames]
        truth = [align_face(clean[i], per_frame[i], SCORE_SIZE) for i in frames]
        # Score the inner face (eyes to chin), where restoration matters.
        inner = (slice(SCORE_SIZE // 5, 4 * SCORE_SIZE // 5),) * 2
        faces, truth = [f[inner] for f in faces], [t[inner] for t in truth]
        flickers.append(face_flicker(faces, truth))
        psnrs += [psnr(t, f) for f, t in zip(faces, truth)]
        ssims += [ssim(t, f) for f, t in zip(faces, truth)]
    return {"face flicker": np.mean(flickers), "face PSNR": np.mean(psnrs), "face SSIM": np.mean(ssims)}


def per_frame_path(damaged: list[np.ndarray], restorer, size: int):
    """Every face of every frame restored on its own, aligned on its raw landmarks."""
    counting = CountingRestorer(restorer)
    tracker = FaceTracker()
    landmarks: dict[int, dict[int, np.ndarray]] = {}
    output = []
    for index, frame in enumerate(damaged):
        faces = detect_faces(frame)
        ids = tracker.update(index, faces)
        out = frame
        if faces:
            matrices = [alignment_matrix(face.landmarks, size) for face in faces]
            restored = counting(np.stack([align_face(frame, m, size) for m in matrices]))
            for track_id, face, matrix, crop in zip(ids, faces, matrices, restored):
                out = paste_back(out, crop, matrix)
                landmarks.setdefault(track_id, {})[index] = face.landmarks
        output.append(out)
    return output, landmarks, counting.faces


def our_path(damaged: list[np.ndarray], restorer, size: int, key_every: int):
    """The faces stage's path (restorer None: fusion only)."""
    worker = FaceVideoRestorer(lambda face_size: (restorer, size), key_every=key_every)
    worker.trace = []
    output = list(worker.run(iter(damaged)))
    landmarks: dict[int, dict[int, np.ndarray]] = {}
    for index, track_id, points in worker.trace:
        landmarks.setdefault(track_id, {})[index] = points
    return output, landmarks, worker.stats.restorer_calls, worker.stats.faces_seen


def jitter(landmarks: dict[int, dict[int, np.ndarray]]) -> float:
    """Landmark jitter over runs of consecutive frames of each track."""
    runs = []
    for per_frame in landmarks.values():
        frames = sorted(per_frame)
        run = [per_frame[frames[0]]]
        for previous, current in zip(frames, frames[1:]):
            if current != previous + 1:
                runs.append(np.stack(run))
                run = []
            run.append(per_frame[current])
        runs.append(np.stack(run))
    return landmark_jitter(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--size", default="480x360")
    parser.add_argument("--key-every", type=int, default=8)
    parser.add_argument("--before", choices=("recipe", "none"), default="recipe")
    parser.add_argument("--save", type=Path, help="write frame strips (truth | input | per-frame | ours) here")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))

    shot = moving_faces_clip(count=args.frames, size=(width, height), head=int(height / 3))
    clean = [gray3(f) for f in shot.frames]
    rng = np.random.default_rng(11)
    # Old film is soft as well as grainy: blur, then the damage.
    damaged = [degrade(cv2.GaussianBlur(f, (0, 0), 1.2), rng) for f in clean]
    if args.before == "recipe":
        for before in load_recipe("film-faces").stages[:-1]:
            damaged = list(before.apply(iter(damaged)))
    alignments = truth_alignment(clean)

    stage = FaceRestore()
    faces_in_shot = detect_faces(damaged[0])
    restorer, size = stage._choose(max(f.size for f in faces_in_shot) if faces_in_shot else 64)
    what = "; ".join(stage._notes) or ", ".join(m["key"] for m in stage._models)
    print(f"{args.frames} frames {width}x{height}, {len(alignments)} people; restorer: {what}")

    rows, outputs = [], {}
    input_scores = face_scores(damaged, clean, alignments)
    label = "input" if args.before == "none" else "input after deflicker, descratch, denoise"
    rows.append((label, input_scores, None, None, 0.0, None))

    started = time.perf_counter()
    output, landmarks, calls = per_frame_path(damaged, restorer, size)
    seconds = time.perf_counter() - started
    observations = sum(len(v) for v in landmarks.values())
    outputs["per-frame"] = output
    rows.append(("per-frame restorer", face_scores(output, clean, alignments), jitter(landmarks), calls, seconds,
                 observations))

    for label, chosen, key_every in (("ours (tracked, fused, key frames)", restorer, args.key_every),
                                     ("ours, restorer on every frame", restorer, 1),
                                     ("ours, fusion only", None, args.key_every)):
        started = time.perf_counter()
        output, landmarks, calls, observations = our_path(damaged, chosen, size, key_every)
        seconds = time.perf_counter() - started
        outputs[label] = output
        rows.append((label, face_scores(output, clean, alignments), jitter(landmarks), calls, seconds, observations))
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        for index in range(0, args.frames, max(1, args.frames // 4)):
            strip = np.hstack([clean[index], damaged[index], outputs["per-frame"][index],
                               outputs["ours (tracked, fused, key frames)"][index]])
            cv2.imwrite(str(args.save / f"frame-{index:03d}.png"), strip[..., ::-1])

    print(f"{'path':42} {'jitter px':>9} {'flicker':>8} {'PSNR dB':>8} {'SSIM':>6} {'calls':>6} {'faces':>6} "
          f"{'ms/face':>8}")
    for label, scores, shake, calls, seconds, observations in rows:
        shake_text = f"{shake:9.2f}" if shake is not None else f"{'-':>9}"
        calls_text = f"{calls:6d}" if calls is not None else f"{'-':>6}"
        faces_text = f"{observations:6d}" if observations else f"{'-':>6}"
        per_face = f"{1000 * seconds / observations:8.1f}" if observations else f"{'-':>8}"
        print(f"{label:42} {shake_text} {scores['face flicker']:8.2f} {scores['face PSNR']:8.2f} "
              f"{scores['face SSIM']:6.3f} {calls_text} {faces_text} {per_face}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
