"""A worker and the media store: it fetches what a job needs into its own scratch folder, keeps the
checkpoint in the store as it goes, and stores the result; it never reads the web machine's
MEDIA_ROOT, so a job another worker began resumes anywhere."""
import hashlib
from datetime import timedelta
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from engine.io import probe, read_video_frames
from engine.pipeline import Pipeline
from engine.recipes import load_recipe, recipe_from_dict
from jobs.models import Job, JobAsset, JobEvent, JobState, job_file_path
from jobs.services import run as run_service
from jobs.services.assets import job_asset_store, job_assets_attach
from jobs.services.launch import recipe_resolve
from jobs.services.lifecycle import job_cancel, job_checkpoint_folder
from jobs.services.run import JobProgress, job_run
from restoration_site.media import media_delete, media_list, media_local_file, media_save_bytes
from restoration_site.uploads import inspect_media, store_checked_media
from tests.engine.helpers import assert_same_encoded_frames

CHUNK_NAMES = ["chunk-00000.mkv", "chunk-00000.sha256", "chunk-00001.mkv", "chunk-00001.sha256", "manifest.json"]


@pytest.fixture(autouse=True)
def quiet():
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


@pytest.fixture(autouse=True)
def small_chunks(settings):
    settings.JOB_CHUNK_FRAMES = 8


@pytest.fixture(scope="module")
def reference_frames(film_clip, tmp_path_factory):
    """The decoded frames of film-light over the clip, run by the engine in one go."""
    output = tmp_path_factory.mktemp("reference") / "full.mp4"
    Pipeline(load_recipe("film-light")).run(film_clip, output)
    return list(read_video_frames(output))


def stored_job(owner, path: Path, recipe: str | dict = "film-light") -> Job:
    """A queued job of a preset (by name) or a recipe (in full) whose source is in the media store,
    whichever the backend."""
    info = inspect_media(path)
    resolved = recipe_resolve(recipe) if isinstance(recipe, str) else recipe_resolve(recipe=recipe)
    job = Job(owner=owner, kind=info.kind, recipe=resolved, source_name=path.name,
              source_info=info.as_dict(), progress={"phase": "queued", "frame": 0, "total": info.frame_count})
    job.source.name = store_checked_media(path, info, job_file_path(job, "source"))
    job.save()
    return job


def on_worker(settings, tmp_path, name: str, media_backend: str) -> Path:
    """Make this test process a worker machine of its own: its own scratch folder and, with object
    storage, no media folder at all (a worker has none of the web machine's files)."""
    settings.SCRATCH_DIR = tmp_path / name
    if media_backend == "s3":
        settings.MEDIA_ROOT = tmp_path / f"{name}-has-no-media-folder"
    return settings.SCRATCH_DIR


def scratch_files(scratch: Path) -> list[Path]:
    return list((scratch / "jobs").rglob("*")) if (scratch / "jobs").exists() else []


def make_stale(job, settings):
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.JOB_STALE_SECONDS + 1))


def dies_after(polls: int):
    """A should_cancel whose worker is killed at poll `polls` + 1 (SystemExit: nothing the service
    handles, like SIGKILL)."""
    real = JobProgress.should_cancel
    seen = []

    def should_cancel(self):
        seen.append(1)
        if len(seen) > polls:
            raise SystemExit("worker lost")
        return real(self)

    return mock.patch.object(JobProgress, "should_cancel", should_cancel)


def restored_frames_recorded():
    """Patch JobProgress.on_event to note each restore event's frame; returns (patch, frames)."""
    real = JobProgress.on_event
    frames = []

    def on_event(self, event):
        if event.phase == "restore":
            frames.append(event.frame)
        real(self, event)

    return mock.patch.object(JobProgress, "on_event", on_event), frames


def decoded(name: str) -> list[np.ndarray]:
    return list(read_video_frames(media_local_file(name)))


def test_a_job_runs_in_its_scratch_folder_and_its_result_goes_to_the_store(owner, film_clip, media_backend,
                                                                            settings, tmp_path, reference_frames):
    job = stored_job(owner, film_clip)
    scratch = on_worker(settings, tmp_path, "worker", media_backend)
    job_run(job_id=job.id, worker="w1")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    assert job.result.name == f"jobs/{job.id}/result.mp4"
    assert media_list(f"jobs/{job.id}") == sorted([job.source.name, job.result.name])  # no checkpoint left
    result = media_local_file(job.result.name)
    assert probe(result).audio_codecs == ["aac"]
    frames = decoded(job.result.name)
    assert len(frames) == 24
    assert_same_encoded_frames(frames, reference_frames)
    assert scratch_files(scratch) == []
    if media_backend == "s3":
        assert not Path(settings.MEDIA_ROOT).exists()  # nothing read or written there


def test_a_picture_job_runs_with_its_assets_fetched_into_scratch(owner, media_backend, settings, tmp_path,
                                                                 noisy_png):
    picture = tmp_path / "painting.png"
    picture.write_bytes(noisy_png)
    job = stored_job(owner, picture, recipe="painting")
    asset = job_asset_store(owner=owner, role=JobAsset.Role.FACE_REFERENCE, image=np.full((8, 8, 3), 90, np.uint8))
    job_assets_attach(assets=[asset], job=job)
    scratch = on_worker(settings, tmp_path, "worker", media_backend)
    given = []
    real = run_service.recipe_with_asset_paths

    def note_assets(recipe, assets):
        given.extend((role, Path(path).is_relative_to(scratch), Path(path).read_bytes()) for role, _frame, path in assets)
        return real(recipe, assets)

    with mock.patch.object(run_service, "recipe_with_asset_paths", note_assets):
        job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    with default_storage.open(asset.file.name, "rb") as stored:
        assert given == [(JobAsset.Role.FACE_REFERENCE, True, stored.read())]  # a local copy of the stored file
    assert job.result.name == f"jobs/{job.id}/result.png" and default_storage.exists(job.result.name)
    assert not (scratch / "jobs" / str(job.id)).exists()


@pytest.mark.parametrize("end", ["failed", "cancelled"])
def test_a_failed_or_cancelled_job_leaves_no_scratch_and_no_stored_checkpoint(owner, film_clip, media_backend,
                                                                             settings, tmp_path, end):
    job = stored_job(owner, film_clip)
    scratch = on_worker(settings, tmp_path, "worker", media_backend)
    real_should_cancel = JobProgress.should_cancel
    polls, seen_in_store = [], []

    def stop_in_the_second_chunk(self):
        polls.append(1)
        if len(polls) == 12:  # chunk 1 is in the store by now
            seen_in_store.extend(media_list(job_checkpoint_folder(job)))
            if end == "failed":
                raise OSError("a disk error")
            job_cancel(job=Job.objects.get(pk=self.job.pk))
        return real_should_cancel(self)

    with mock.patch.object(JobProgress, "should_cancel", stop_in_the_second_chunk), \
            mock.patch.object(JobProgress, "CANCEL_POLL_SECONDS", 0):
        job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == end
    assert f"{job_checkpoint_folder(job)}/chunk-00000.mkv" in seen_in_store
    assert media_list(f"jobs/{job.id}") == [job.source.name] and not job.result
    assert not (scratch / "jobs" / str(job.id)).exists()


def test_a_result_the_store_refuses_fails_the_job_with_a_message_and_keeps_nothing(owner, film_clip, media_backend,
                                                                                  settings, tmp_path):
    job = stored_job(owner, film_clip)
    scratch = on_worker(settings, tmp_path, "worker", media_backend)
    real_save = default_storage.save

    def save(name, content, *args, **kwargs):
        if "/result" in name:
            raise ConnectionError("the store went away")
        return real_save(name, content, *args, **kwargs)

    with mock.patch.object(default_storage, "save", save):
        job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.FAILED
    assert job.error == "The restored file could not be saved to the media store; nothing was kept. Try again later."
    assert media_list(f"jobs/{job.id}") == [job.source.name] and not job.result
    assert not (scratch / "jobs" / str(job.id)).exists()


def test_a_job_resumes_on_another_worker_from_the_chunks_in_the_store(owner, film_clip, media_backend, settings,
                                                                     tmp_path, reference_frames):
    job = stored_job(owner, film_clip)
    first = on_worker(settings, tmp_path, "first-worker", media_backend)
    with dies_after(17), pytest.raises(SystemExit):  # two chunks of 8 were made and stored
        job_run(job_id=job.id, worker="w1")
    folder = job_checkpoint_folder(job)
    assert media_list(folder) == [f"{folder}/{name}" for name in CHUNK_NAMES]
    assert not (first / "jobs" / str(job.id)).exists()  # even a dying attempt cleans its scratch

    second = on_worker(settings, tmp_path, "second-worker", media_backend)
    make_stale(job, settings)
    recording, restored = restored_frames_recorded()
    with recording:
        job_run(job_id=job.id, worker="w2")
    job.refresh_from_db()
    assert (job.state, job.attempts, job.worker) == (JobState.SUCCEEDED, 2, "w2"), job.error
    # Chunks 0 and 1 came from the store; film-light's deflicker needs 7 frames of context before frame 16.
    assert min(restored) == 16 - 7 + 1
    assert job.events.filter(kind=JobEvent.Kind.CHUNK_DONE).count() == 3
    frames = decoded(job.result.name)
    assert len(frames) == 24
    assert_same_encoded_frames(frames, reference_frames)
    assert probe(media_local_file(job.result.name)).audio_codecs == ["aac"]
    assert media_list(folder) == [] and not (second / "jobs" / str(job.id)).exists()


def test_a_chunk_damaged_in_the_store_is_made_again_not_trusted(owner, film_clip, media_backend, settings,
                                                                tmp_path, reference_frames):
    job = stored_job(owner, film_clip)
    on_worker(settings, tmp_path, "first-worker", media_backend)
    with dies_after(17), pytest.raises(SystemExit):
        job_run(job_id=job.id)
    chunk = f"{job_checkpoint_folder(job)}/chunk-00001.mkv"
    with default_storage.open(chunk, "rb") as stored:
        data = bytearray(stored.read())
    data[len(data) // 2] ^= 0xFF  # one byte changed, the length kept
    media_delete(chunk)
    media_save_bytes(bytes(data), chunk)

    # The second worker finds the damage, drops the chunk from the store too, and makes it again
    # (frames 2 to 16: deflicker's context before frame 9) before it dies as well.
    on_worker(settings, tmp_path, "second-worker", media_backend)
    make_stale(job, settings)
    recording, restored = restored_frames_recorded()
    with recording, dies_after(15), pytest.raises(SystemExit):
        job_run(job_id=job.id)
    assert min(restored) == 8 - 7 + 1
    with default_storage.open(chunk, "rb") as stored:
        redone = stored.read()
    assert redone != bytes(data)
    with default_storage.open(chunk.replace(".mkv", ".sha256"), "rb") as stored:
        assert stored.read().decode().strip() == hashlib.sha256(redone).hexdigest()

    on_worker(settings, tmp_path, "third-worker", media_backend)
    make_stale(job, settings)
    job_run(job_id=job.id)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.attempts == 3, job.error
    frames = decoded(job.result.name)
    assert len(frames) == 24
    assert_same_encoded_frames(frames, reference_frames)


def test_a_faces_job_resumes_on_another_worker_from_the_state_kept_with_its_chunks(owner, film_clip, media_backend,
                                                                                  settings, tmp_path):
    recipe = load_recipe("film-faces").as_dict()
    recipe["stages"][-1]["params"]["model"] = "none"  # fusion only: a CPU job, and fast
    job = stored_job(owner, film_clip, recipe=recipe)
    on_worker(settings, tmp_path, "first-worker", media_backend)
    with dies_after(17), pytest.raises(SystemExit):
        job_run(job_id=job.id, worker="w1")
    folder = job_checkpoint_folder(job)
    assert f"{folder}/state-00001.bin" in media_list(folder) and f"{folder}/state-00000.bin" not in media_list(folder)

    on_worker(settings, tmp_path, "second-worker", media_backend)
    make_stale(job, settings)
    recording, restored = restored_frames_recorded()
    with recording:
        job_run(job_id=job.id, worker="w2")
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    # The faces stage went on from its state after frame 16, not from the first frame; the stages
    # before it were fed their 10 frames of context, which are not counted as made.
    assert min(restored) == 17
    reference = tmp_path / "reference.mp4"
    Pipeline(recipe_from_dict(recipe)).run(film_clip, reference)
    assert_same_encoded_frames(decoded(job.result.name), list(read_video_frames(reference)))
