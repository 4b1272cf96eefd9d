""""Restore again" from a published faces version: a job reads only its owner's files. Another
person's job runs the recipe without the author's reference photos, and the page says so; the
author restoring again from their own version keeps them."""
from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.test import Client
from skimage import data

from gallery.models import Item
from jobs.models import Job, JobAsset, JobState
from jobs.services.assets import job_asset_store
from jobs.services.launch import job_create_for_item
from jobs.services.publish import job_publish
from tests.gallery.factories import make_item, png_upload

pytestmark = pytest.mark.django_db

WITHHELD = "are theirs and are not shared: your job runs the same recipe without them"


@pytest.fixture(autouse=True)
def quiet():
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


@pytest.fixture
def faces_version(media_root, owner):
    """A's published film-faces version, made with one of A's reference photos."""
    item = make_item(kind=Item.Kind.PHOTO)
    photo = job_asset_store(owner=owner, role=JobAsset.Role.FACE_REFERENCE, image=np.ascontiguousarray(
        data.astronaut()[0:220, 120:300]))
    job = job_create_for_item(owner=owner, item=item, recipe_name="film-faces", assets=[photo], allow_cpu=True)
    job.result.save("result.png", ContentFile(png_upload(seed=3).read()), save=False)
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED, result=job.result.name)
    job.refresh_from_db()
    return job_publish(user=owner, job=job), photo


def restore_again(user, version) -> tuple[Job, str]:
    client = Client()
    client.force_login(user)
    response = client.post(f"/jobs/new/item/{version.item_id}/", {"from_version": str(version.uid),
                                                                 "allow_cpu": "1"}, follow=True)
    assert response.status_code == 200, response.content[-2000:]
    return Job.objects.filter(owner=user).latest("created_at"), response.content.decode()


def test_another_users_job_reads_none_of_the_authors_photos_and_the_page_says_so(faces_version, stranger):
    version, photo = faces_version
    job, page = restore_again(stranger, version)
    assert job.owner == stranger and "faces" in [stage["stage"] for stage in job.recipe["stages"]]
    # The worker gives the engine the job's own assets only (jobs.services.run): there are none.
    assert not job.assets.exists() and not JobAsset.objects.filter(owner=stranger).exists()
    stored = json.dumps(job.recipe)
    assert photo.file.name not in stored and "jobs/assets" not in stored and "references" not in stored
    assert WITHHELD in page


def test_the_author_restoring_again_keeps_their_photos(faces_version, owner):
    version, photo = faces_version
    job, page = restore_again(owner, version)
    (copy,) = job.assets.all()
    assert copy.owner == owner and copy.role == JobAsset.Role.FACE_REFERENCE and copy.file.name != photo.file.name
    assert WITHHELD not in page
