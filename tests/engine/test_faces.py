"""Faces: detection, alignment and paste-back, tracking, and the faces stage."""
import cv2
import numpy as np
import pytest
from skimage import data

from engine.errors import RecipeError
from engine.faces.align import align_face, alignment_matrix, paste_back, template
from engine.faces.detect import detect_faces
from engine.faces.restore import FaceVideoRestorer, frontality
from engine.faces.synthetic import moving_faces_clip
from engine.faces.track import FaceTracker, smooth_landmarks
from engine.metrics import landmark_jitter, psnr
from engine.recipes import recipe_from_dict
from engine.stages import STAGES
from engine.synthetic import degrade

ASTRONAUT_FACE = (178, 57, 273, 177)  # x0, y0, x1, y1 of the face in skimage's astronaut, by eye


def assert_plausible_landmarks(face):
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks
    x0, y0, x1, y1 = face.box
    assert left_eye[0] < nose[0] < right_eye[0]
    assert mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert np.all((face.landmarks[:, 0] > x0) & (face.landmarks[:, 0] < x1))
    assert np.all((face.landmarks[:, 1] > y0) & (face.landmarks[:, 1] < y1))


def box_iou(a, b):
    x0, y0, x1, y1 = max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def clip():
    return moving_faces_clip(count=24)


def test_detects_the_astronaut_with_five_landmarks():
    faces = detect_faces(data.astronaut())
    assert len(faces) == 1
    assert faces[0].score > 0.9
    assert box_iou(faces[0].box, ASTRONAUT_FACE) > 0.6
    assert_plausible_landmarks(faces[0])


def test_detects_a_small_face():
    small = cv2.resize(data.astronaut(), None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    frame = cv2.resize(data.coffee(), (320, 240), interpolation=cv2.INTER_AREA)
    frame[40:40 + small.shape[0], 100:100 + small.shape[1]] = small
    faces = detect_faces(frame, min_face=24)
    assert len(faces) == 1
    assert 24 <= faces[0].size <= 40
    expected = np.array(ASTRONAUT_FACE) * 0.3 + [100, 40, 100, 40]
    assert box_iou(faces[0].box, expected) > 0.5
    assert_plausible_landmarks(faces[0])


def test_alignment_puts_landmarks_on_the_template():
    face = detect_faces(data.astronaut())[0]
    matrix = alignment_matrix(face.landmarks, 256)
    moved = np.hstack([face.landmarks, np.ones((5, 1))]) @ matrix.T
    assert np.abs(moved - template(256)).max() < 0.05 * 256  # a similarity fit of a real, smiling face
    assert frontality(face.landmarks) > 0.7


def test_alignment_undoes_an_exact_similarity_and_fits_noisy_points_by_least_squares():
    angle, scale, shift = 0.3, 0.4, np.array([120.0, 45.0])
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    landmarks = template(256) @ (scale * rotation).T + shift  # a face in a frame, turned and smaller
    matrix = alignment_matrix(landmarks, 256)
    assert np.allclose(np.hstack([landmarks, np.ones((5, 1))]) @ matrix.T, template(256), atol=1e-9)
    # Noisy points: the fit minimises the summed squared distance among similarities, so changing its
    # scale, its rotation or its shift raises that sum.
    noisy = landmarks + np.random.default_rng(3).normal(0, 2.0, landmarks.shape)
    fit = alignment_matrix(noisy, 256)

    def cost(m):
        return float(np.sum((np.hstack([noisy, np.ones((5, 1))]) @ m.T - template(256)) ** 2))

    for nudge in ([[1e-3, 0, 0], [0, 1e-3, 0]], [[0, -1e-3, 0], [1e-3, 0, 0]], [[0, 0, 0.5], [0, 0, 0]]):
        nudge = np.array(nudge)
        assert cost(fit) < cost(fit + nudge) and cost(fit) < cost(fit - nudge)


def test_paste_back_of_an_unchanged_face_leaves_the_frame_unchanged():
    frame = data.astronaut()
    face = detect_faces(frame)[0]
    for size in (256, 512):
        matrix = alignment_matrix(face.landmarks, size)
        out = paste_back(frame, align_face(frame, matrix, size), matrix)
        assert psnr(frame, out) > 40


def test_paste_back_has_no_seam():
    frame = (data.astronaut() * 0.75).astype(np.uint8)  # room to brighten without clipping
    face = detect_faces(frame)[0]
    matrix = alignment_matrix(face.landmarks, 256)
    aligned = align_face(frame, matrix, 256)
    unchanged = paste_back(frame, aligned, matrix).astype(np.float32)
    change = paste_back(frame, aligned + np.uint8(40), matrix).astype(np.float32) - unchanged
    assert change.max() > 35  # the face did change
    # The change fades in: no step between neighbouring pixels anywhere near the mask's edge.
    step = max(np.abs(np.diff(change, axis=0)).max(), np.abs(np.diff(change, axis=1)).max())
    assert step < 4


def test_a_face_half_outside_the_frame():
    whole = data.astronaut()
    landmarks = detect_faces(whole)[0].landmarks
    frame = np.ascontiguousarray(whole[:, 220:])  # the frame's left edge cuts off nearly half the face
    shifted = landmarks - [220, 0]
    matrix = alignment_matrix(shifted, 256)
    aligned = align_face(frame, matrix, 256)
    assert aligned.shape == (256, 256, 3)
    assert psnr(frame, paste_back(frame, aligned, matrix)) > 40
    brighter = np.clip(aligned.astype(int) + 40, 0, 255).astype(np.uint8)
    out = paste_back(frame, brighter, matrix)
    assert out.shape == frame.shape
    assert (out[:, :10].astype(int) - frame[:, :10]).max() > 30  # restored right up to the edge
    assert detect_faces(frame)  # and the detector still finds the half face


def track_clip(frames):
    tracker = FaceTracker()
    tracked = []  # per frame: [(track id, face)]
    for index, frame in enumerate(frames):
        faces = detect_faces(frame)
        tracked.append(list(zip(tracker.update(index, faces), faces)))
    return tracked


def test_tracking_keeps_three_people_apart(clip):
    tracked = track_clip(clip.frames)
    person_of_track: dict[int, set] = {}
    for frame_faces, centers in zip(tracked, clip.centers):
        for track_id, face in frame_faces:
            middle = face.landmarks.mean(0)
            distances = [np.hypot(*(middle - c)) if c is not None else np.inf for c in centers]
            person_of_track.setdefault(track_id, set()).add(int(np.argmin(distances)))
    assert len(person_of_track) == 3  # no person lost and found again under a new id
    assert all(len(people) == 1 for people in person_of_track.values())  # no swaps at the crossing
    assert sorted(p for people in person_of_track.values() for p in people) == [0, 1, 2]


def test_smoothed_landmarks_jitter_less(clip):
    rng = np.random.default_rng(3)
    noisy = [degrade(frame, rng, flicker=0.1, grain=14, scratches=0, gray=False) for frame in clip.frames]
    tracked = track_clip(noisy)
    walker = {}
    for index, frame_faces in enumerate(tracked):
        for track_id, face in frame_faces:
            if track_id == tracked[0][0][0]:
                walker[index] = face.landmarks
    frames = sorted(walker)
    assert len(frames) >= 20
    raw = np.stack([walker[i] for i in frames])
    smoothed = np.stack([smooth_landmarks(walker, i, 3) for i in frames])
    assert landmark_jitter([smoothed]) < 0.6 * landmark_jitter([raw])


class CountingFake:
    """A restorer that adds fine stripes to faces (detail, as a restorer adds) and counts the faces."""

    def __init__(self):
        self.faces = 0

    def __call__(self, batch):
        self.faces += len(batch)
        stripes = 30 * np.sin(np.arange(batch.shape[2]) * 2 * np.pi / 32)[None, None, :, None]
        return np.clip(batch + stripes, 0, 255).astype(np.uint8)


def test_the_stage_restores_key_frames_only(clip):
    stage = STAGES["faces"](key_every=8)
    stage.validate()
    fake = CountingFake()
    stage.restorer, stage.restorer_size = fake, 128  # small aligned faces keep the test fast
    out = list(stage.apply(iter(clip.frames)))
    assert len(out) == len(clip.frames)
    assert all(o.shape == f.shape and o.dtype == np.uint8 for o, f in zip(out, clip.frames))
    counts = stage.provenance()["counts"]
    assert counts["faces_tracked"] == 3
    assert counts["restorer_calls"] == fake.faces
    assert fake.faces * 4 <= counts["face_observations"]
    # Faces got the restorer's change, frames elsewhere are untouched.
    change = np.abs(out[12].astype(int) - clip.frames[12]).mean(axis=2)
    assert change[50:75, 135:165].mean() > 5
    assert change[:, :20].max() == 0


def test_bounded_memory_and_streaming(clip):
    """Frames come out while later frames are still coming in (a window, not the whole clip)."""
    pulled = []

    def source():
        for frame in clip.frames:
            pulled.append(1)
            yield frame

    worker = FaceVideoRestorer(lambda size: (CountingFake(), 128), key_every=4)
    stream = worker.run(source())
    next(stream)
    assert len(pulled) <= 4 + 2 + 3 + 1


def test_reference_photos_join_the_bank_of_the_person_they_show(tmp_path, clip):
    """The astronaut's photo joins the bank of the people made from her face; the cameraman's
    photo, another person, joins no one's."""
    astronaut, cameraman = tmp_path / "astronaut.png", tmp_path / "cameraman.png"
    cv2.imwrite(str(astronaut), data.astronaut()[..., ::-1])
    cv2.imwrite(str(cameraman), data.camera())
    for photo, should_match in ((astronaut, True), (cameraman, False)):
        stage = STAGES["faces"](key_every=8, references=str(photo))  # one path as a plain string
        stage.validate()
        fake = CountingFake()
        stage.restorer, stage.restorer_size = fake, 128
        list(stage.apply(iter(clip.frames[:8])))
        counts = stage.provenance()["counts"]
        assert counts["reference_faces"] == 1
        assert (counts["reference_matches"] >= 1) is should_match
        assert counts["restorer_calls"] == fake.faces >= 1 + 2  # the photo and each person's first key frame


def test_missing_reference_photo_names_the_field():
    recipe = {"name": "x", "stages": [{"stage": "faces", "params": {"references": ["/nonexistent/a.jpg"]}}]}
    with pytest.raises(RecipeError, match=r"stages\[0\]\.params\.references\[0\]"):
        recipe_from_dict(recipe)


def test_bad_model_names_the_field():
    with pytest.raises(RecipeError, match=r"stages\[0\]\.params\.model"):
        recipe_from_dict({"name": "x", "stages": [{"stage": "faces", "params": {"model": "gfpgan"}}]})


def test_fallback_without_gpen_says_so(clip, tmp_path, monkeypatch):
    monkeypatch.setenv("ENGINE_MODELS_DIR", str(tmp_path))  # no GPEN weights there
    stage = STAGES["faces"](key_every=12, device="cpu")
    out = list(stage.apply(iter(clip.frames[:4])))
    assert len(out) == 4
    record = stage.provenance()
    keys = [m["key"] for m in record["models"]]
    assert "retinaface-mobilenet0.25" in keys
    assert any(key.startswith("realesr-animevideov3") for key in keys)
    assert any(note.startswith("GPEN was not used") and "Real-ESRGAN" in note for note in record["notes"])
    assert all(m["sha256"] for m in record["models"])


def test_gpen_is_used_when_installed(clip, monkeypatch):
    """With GPEN weights present, the stage restores key frames with GPEN at the model's size."""
    import engine.models.archs.gpen.run as gpen_run
    from engine.models import loader, registry
    from engine.models.descriptor import ModelDescriptor

    fake = ModelDescriptor(object(), "GPEN", "face-restoration", 1, 3, 3, size=512, key="gpen-bfr-512", sha256="x",
                           licence="y")
    seen = []
    monkeypatch.setattr(registry, "is_available", lambda key: key == "gpen-bfr-512")
    real_load = loader.load_model
    monkeypatch.setattr(loader, "load_model", lambda key, **options: fake if key == "gpen-bfr-512"
                        else real_load(key, **options))
    monkeypatch.setattr(gpen_run, "restore_faces", lambda model, crops: seen.append(crops.shape) or crops)
    stage = STAGES["faces"](model="auto", key_every=8, fusion_radius=0)
    out = list(stage.apply(iter(clip.frames[:3])))
    assert len(out) == 3
    assert seen and all(shape[1:] == (512, 512, 3) for shape in seen)
    record = stage.provenance()
    assert "gpen-bfr-512" in [m["key"] for m in record["models"]]
    assert not any("GPEN was not used" in note for note in record["notes"])


def test_a_black_and_white_face_gets_no_color():
    from engine.faces.restore import restored_detail

    face = np.repeat(data.camera()[100:228, 180:308, None], 3, axis=2).astype(np.float32)
    tinted = np.clip(face + np.sin(np.arange(128) / 2)[None, :, None] * [30, 0, -30], 0, 255).astype(np.uint8)
    detail = restored_detail(tinted, face)
    assert np.abs(detail[..., 0] - detail[..., 2]).max() < 1e-3


def test_a_resumed_run_gives_the_uninterrupted_faces(clip):
    """A resumed run restarts `radius` frames before the first frame it must make again, and must
    give the same frames as an uninterrupted run: key frames are counted from a track's first frame
    and the bank holds the person's best key frames so far, so the faces of a frame depend on every
    earlier frame and the stage's radius must reach back to the first one."""
    def run(frames):
        stage = STAGES["faces"](key_every=2, fusion_radius=0)
        stage.restorer, stage.restorer_size = CountingFake(), 128
        return stage, list(stage.apply(iter(frames)))

    stage, full = run(clip.frames)
    done = 16  # frames already in the checkpoint's chunks
    start = max(0, done - stage.radius)
    _, resumed = run(clip.frames[start:])
    assert len(resumed) == len(clip.frames) - start
    assert all(np.array_equal(a, b) for a, b in zip(full[done:], resumed[done - start:]))


def test_a_long_stream_holds_a_bounded_window_and_state():
    """Many small frames with faces that come and go: frames held, landmarks kept per track and
    track states stay bounded whatever the stream's length (detection faked to keep it fast)."""
    from engine.faces.detect import Face

    def detect(frame):
        index = int(frame[0, 0, 0])  # the frame's number, written in its corner
        faces = []
        for person, (x, y) in enumerate(((8 + (index % 20), 8.0), (36.0, 24.0))):
            if person == 1 and (index // 15) % 2:  # the second person leaves and comes back
                continue
            marks = np.float32([[x + 3, y + 4], [x + 9, y + 4], [x + 6, y + 7], [x + 4, y + 10], [x + 8, y + 10]])
            faces.append(Face(np.float32([x, y, x + 12, y + 14]), 0.9, marks))
        return faces

    pulled = []

    def source():
        rng = np.random.default_rng(0)
        for index in range(400):
            frame = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            frame[0, 0, 0] = index % 256
            pulled.append(index)
            yield frame

    worker = FaceVideoRestorer(lambda size: (CountingFake(), 32), detect=detect, key_every=4, fusion_radius=1)
    most_held = most_observed = most_tracks = 0
    for emitted, _ in enumerate(worker.run(source()), start=1):
        most_held = max(most_held, len(pulled) - emitted)
        most_tracks = max(most_tracks, len(worker.tracks))
        most_observed = max(most_observed, *(len(s.observed) + len(s.keys) for s in worker.tracks.values()))
    assert emitted == 400 and worker.stats.tracks > 10  # the second person got a new track each time
    assert most_held <= worker.lookahead + 1
    assert most_tracks <= 4  # the two on screen, and a gone one until its last frames are out
    assert most_observed <= 2 * worker.lookahead + 4 * 2


def faces_pipeline(chunk_frames: int = 8):
    """Denoise, faces (a fake restorer, to stay fast), then deflicker: stages with context on both
    sides of the one whose frames depend on every earlier frame."""
    from engine.pipeline import Pipeline
    from engine.recipes import Recipe
    from engine.stages import Deflicker, TemporalDenoise

    faces = STAGES["faces"](key_every=3, fusion_radius=1)
    faces.restorer, faces.restorer_size = CountingFake(), 128
    recipe = Recipe("faces-test", stages=[TemporalDenoise(radius=1), faces, Deflicker(radius=2)])
    return Pipeline(recipe, chunk_frames=chunk_frames, progress_interval=0), faces


@pytest.fixture(scope="module")
def faces_video(clip, tmp_path_factory):
    from engine.io import VideoEncoder

    path = tmp_path_factory.mktemp("faces") / "faces.mp4"
    with VideoEncoder(path, fps=24, crf=12) as encoder:
        for frame in clip.frames:
            encoder.write(frame)
    return path


def run_cut_off(video, folder, output, polls_before_cancel: int):
    from unittest import mock

    from engine.errors import Cancelled

    pipeline, _ = faces_pipeline()
    with pytest.raises(Cancelled):
        pipeline.run(video, output, checkpoint_dir=folder,
                     should_cancel=mock.Mock(side_effect=[False] * polls_before_cancel + [True]))


def test_a_cut_off_faces_run_resumes_from_its_last_chunk_with_the_uninterrupted_frames(faces_video, tmp_path):
    from unittest import mock

    from engine.checkpoint import ChunkStore
    from tests.engine.helpers import checkpoint_frames

    full_pipeline, full_faces = faces_pipeline()
    with mock.patch.object(ChunkStore, "remove"):
        full_pipeline.run(faces_video, tmp_path / "full.mp4", checkpoint_dir=tmp_path / "full")
    reference = checkpoint_frames(tmp_path / "full")
    assert len(reference) == 24

    run_cut_off(faces_video, tmp_path / "ck", tmp_path / "out.mp4", polls_before_cancel=18)
    assert sorted(p.name for p in (tmp_path / "ck").glob("chunk-*.mkv")) == ["chunk-00000.mkv", "chunk-00001.mkv"]
    assert sorted(p.name for p in (tmp_path / "ck").glob("state-*")) == ["state-00001.bin", "state-00001.sha256"]

    resumed_pipeline, resumed_faces = faces_pipeline()
    events = []
    with mock.patch.object(ChunkStore, "remove"):
        resumed_pipeline.run(faces_video, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck",
                                      on_event=events.append)
    resumed = checkpoint_frames(tmp_path / "ck")
    assert len(resumed) == 24 and all(np.array_equal(a, b) for a, b in zip(reference, resumed))
    # Two chunks (16 frames) were done: the faces stage went on from its state after frame 14 (the
    # deflicker after it needs 2 frames of context), not from the first frame.
    assert min(e.frame for e in events if e.phase == "restore") == 15
    assert resumed_faces.restorer.faces < full_faces.restorer.faces
    # What the version will say about the faces is the uninterrupted run's, counts included.
    assert resumed_faces.provenance() == full_faces.provenance()


def test_a_damaged_kept_state_makes_the_run_start_again_from_the_first_frame(faces_video, tmp_path):
    from unittest import mock

    from engine.checkpoint import ChunkStore
    from tests.engine.helpers import checkpoint_frames

    full_pipeline, _ = faces_pipeline()
    with mock.patch.object(ChunkStore, "remove"):
        full_pipeline.run(faces_video, tmp_path / "full.mp4", checkpoint_dir=tmp_path / "full")
    run_cut_off(faces_video, tmp_path / "ck", tmp_path / "out.mp4", polls_before_cancel=18)
    state = tmp_path / "ck" / "state-00001.bin"
    state.write_bytes(state.read_bytes()[:-10] + bytes(10))

    pipeline, _ = faces_pipeline()
    events = []
    with mock.patch.object(ChunkStore, "remove"):
        pipeline.run(faces_video, tmp_path / "out.mp4", checkpoint_dir=tmp_path / "ck", on_event=events.append)
    assert min(e.frame for e in events if e.phase == "restore") == 1
    reference, resumed = checkpoint_frames(tmp_path / "full"), checkpoint_frames(tmp_path / "ck")
    assert len(resumed) == 24 and all(np.array_equal(a, b) for a, b in zip(reference, resumed))
