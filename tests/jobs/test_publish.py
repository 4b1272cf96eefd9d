"""Publishing a finished job's result as a version of its item, with the recipe that made it."""
from pathlib import Path
from unittest import mock

import pytest

from engine.io import probe
from gallery import services
from gallery.models import Item
from jobs.services.launch import job_create_for_item
from jobs.services.publish import job_publish
from jobs.services.run import job_run
from restoration_site.errors import ApplicationError
from tests.gallery.factories import png_upload, run_derived_media
from tests.jobs.factories import upload_of


def test_a_finished_job_is_published_with_its_recipe(owner, stranger, media_root, film_clip, make_user):
    staff = make_user("boss", is_staff=True)
    item = services.item_create(uploader=staff, upload=upload_of(film_clip), kind=Item.Kind.FILM, title="Clip")
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
        job = job_create_for_item(owner=owner, item=item, recipe_name="film-light")
        with pytest.raises(ApplicationError, match="finished"):
            job_publish(user=owner, job=job)
        job_run(job_id=job.id)
    job.refresh_from_db()
    with pytest.raises(ApplicationError) as error:
        job_publish(user=stranger, job=job)
    assert error.value.status_code == 403
    version = job_publish(user=owner, job=job, title="Steadied")
    assert version.recipe["stages"][0]["stage"] == "deflicker" and not version.ai_color
    assert version.job == job and not version.is_homework
    assert probe(version.media.path).frame_count == 24
    assert run_derived_media(version).poster.name.endswith("poster.jpg")
    with pytest.raises(ApplicationError, match="already published"):
        job_publish(user=owner, job=job)


def test_a_published_version_keeps_the_models_and_weights_that_made_it(owner, media_root, make_user):
    """The engine records provenance in the job's recipe; publishing keeps it and its colour flag."""
    from django.core.files.base import ContentFile

    from jobs.models import Job, JobState

    staff = make_user("boss", is_staff=True)
    item = services.item_create(uploader=staff, upload=png_upload(), kind=Item.Kind.PHOTO, title="Scan")
    provenance = {"models": [{"key": "ddcolor-tiny", "sha256": "ef" * 32, "licence": "CC-BY-NC-4.0"}],
                  "notes": [], "ai_color": True}
    job = Job(owner=owner, item=item, kind="image", state=JobState.SUCCEEDED,
              recipe={"name": "painting", "stages": [{"stage": "tone"}], "provenance": provenance})
    job.source.save("source.png", ContentFile(png_upload().read()), save=False)
    job.result.save("result.png", ContentFile(png_upload(seed=3).read()), save=False)
    job.save()
    version = job_publish(user=owner, job=job)
    assert version.ai_color  # the stage generated colour, whatever its name
    assert version.provenance["models"] == [{"key": "ddcolor-tiny", "sha256": "ef" * 32, "short_hash": "ef" * 6,
                                             "licence": "CC-BY-NC-4.0", "non_commercial": True}]


def test_a_version_names_no_file_and_restoring_it_again_takes_only_ones_own_pictures(
        client, owner, stranger, media_root, make_user, django_capture_on_commit_callbacks):
    import numpy as np
    from django.core.files.base import ContentFile

    from jobs.models import Job, JobAsset, JobState
    from jobs.services.assets import job_asset_store
    from jobs.services.launch import job_create_from_version

    staff = make_user("boss", is_staff=True)
    item = services.item_create(uploader=staff, upload=png_upload(), kind=Item.Kind.PHOTO, title="Scan")
    scribble = np.zeros((48, 64, 4), np.uint8)
    scribble[10:20, 10:20] = (200, 40, 40, 255)
    assets = [job_asset_store(owner=owner, role=JobAsset.Role.SCRIBBLE, image=scribble, frame=0)]
    recipe = {"name": "colorize", "stages": [{"stage": "colorize", "params": {"model": "none"}}]}
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
        job = job_create_for_item(owner=owner, item=item, recipe=recipe, assets=assets)
    job.result.save("result.png", ContentFile(png_upload(seed=3).read()), save=False)
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, result=job.result.name)
    job.refresh_from_db()
    version = job_publish(user=owner, job=job)
    assert version.ai_color and "scribbles" not in version.recipe["stages"][0]["params"]
    body = client.get(f"/api/versions/{version.uid}/").content.decode()
    page = client.get(item.get_absolute_url()).content.decode()
    assert str(media_root) not in body and str(media_root) not in page and "jobs/assets" not in body

    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
        again = job_create_from_version(owner=owner, version=version)
        (copy,) = again.assets.all()
        assert copy.role == "scribble" and copy.frame == 0 and copy.file.name != assets[0].file.name
        assert Path(copy.file.path).read_bytes() == Path(assets[0].file.path).read_bytes()
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(ApplicationError, match="not shared. Use Colorize"):
                job_create_from_version(owner=stranger, version=version)
    assert not JobAsset.objects.filter(owner=stranger).exists() and Job.objects.filter(owner=stranger).count() == 0
