"""Recipes stored before job assets existed: their file paths become assets, and leave the recipes."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from PIL import Image

BEFORE = [("jobs", "0004_job_assets"), ("gallery", "0005_comment_changed_at")]
AFTER = [("jobs", "0005_recipe_files_to_assets")]


@pytest.mark.django_db(transaction=True)
def test_recipe_paths_become_assets(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    folder = tmp_path / "faces" / "1" / "abc"
    folder.mkdir(parents=True)
    for name in ("reference-0.png", "reference-1.png", "scribble-3.png"):
        Image.new("RGB", (4, 4)).save(folder / name)
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = old.get_model("auth", "User").objects.create(username="restorer")
    recipe = {"name": "film-faces", "stages": [
        {"stage": "faces", "params": {"model": "auto", "references": [str(folder / "reference-0.png"),
                                                                      str(folder / "reference-1.png"),
                                                                      "/etc/passwd"]}},
        {"stage": "colorize", "params": {"model": "none", "scribbles": [{"frame": 3, "image": str(folder / "scribble-3.png")}],
                                         "reference_frames": [], "reference_images": []}}]}
    job = old.get_model("jobs", "Job").objects.create(owner=user, kind="video", recipe=recipe, source="jobs/x/s.mp4")
    item = old.get_model("gallery", "Item").objects.create(slug="street", kind="film", title="Street", media="m.mp4")
    version = old.get_model("gallery", "Version").objects.create(item=item, author=user, job=job, recipe=recipe,
                                                                 media="v.mp4")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    job = new.get_model("jobs", "Job").objects.get(pk=job.pk)
    assets = list(new.get_model("jobs", "JobAsset").objects.filter(job=job).order_by("role", "position"))
    assert [(a.role, a.frame, a.position, a.file.name) for a in assets] == [
        ("face_reference", None, 0, "faces/1/abc/reference-0.png"),
        ("face_reference", None, 1, "faces/1/abc/reference-1.png"),
        ("scribble", 3, 0, "faces/1/abc/scribble-3.png")]  # /etc/passwd is not a stored file: dropped
    assert all(a.owner_id == user.pk for a in assets)
    for stored in (job.recipe, new.get_model("gallery", "Version").objects.get(pk=version.pk).recipe):
        assert stored["stages"][0]["params"] == {"model": "auto"}
        assert stored["stages"][1]["params"] == {"model": "none"}
