"""A faces job from launch to published version: routing, the real stage, and the record of how it ran."""
import shutil
from unittest import mock

import pytest
from django.urls import reverse

from engine.faces.synthetic import moving_faces_clip
from engine.io import probe
from engine.models import registry
from engine.synthetic import write_clip
from gallery.models import Item
from jobs.services.publish import job_publish
from jobs.services.launch import job_create_for_item
from jobs.services.run import job_run
from jobs.models import JobState
from restoration_site.errors import ApplicationError
from tests.gallery.factories import make_item

FACES_RECIPE = {"name": "faces-only", "stages": [{"stage": "faces", "params": {"model": "auto"}}]}


@pytest.fixture
def film_item(media_root, tmp_path):
    clip = tmp_path / "three-people.mp4"
    write_clip(clip, moving_faces_clip(count=8).frames, fps=8, audio_seconds=1.0)
    item = make_item(kind=Item.Kind.FILM, title="Three people in a street")
    target = media_root / "items" / item.slug / "original.mp4"
    shutil.copy(clip, target)
    item.media.name = f"items/{item.slug}/original.mp4"
    item.save()
    return item


def test_a_faces_job_without_gpen_weights_says_so_and_its_version_shows_the_models(
        client, owner, film_item, models_dir):
    # models_dir: an empty folder, so no GPEN checkpoint is installed
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        # GPEN wants a GPU; none is online, so the user is asked before the job runs on a CPU.
        with pytest.raises(ApplicationError) as refused:
            job_create_for_item(owner=owner, item=film_item, recipe=FACES_RECIPE)
        assert refused.value.extra["field"] == "allow_cpu"
        job = job_create_for_item(owner=owner, item=film_item, recipe=FACES_RECIPE, allow_cpu=True)
        job_run(job_id=job.id, worker="cpu@test")
    assert job.queue == "cpu"
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED, job.error
    result = probe(job.result.path)
    assert result.frame_count == 8 and result.audio_codecs == ["aac"]

    provenance = job.recipe["provenance"]
    assert any("GPEN was not used" in note for note in provenance["notes"])
    fallback = [m for m in provenance["models"] if m["key"].startswith("realesr-animevideov3")]
    assert fallback, provenance
    installed = registry.require(fallback[0]["key"])
    assert fallback[0]["sha256"] == ",".join(installed.sha256)
    assert not provenance["ai_color"]

    version = job_publish(user=owner, job=job, title="Faces, fusion + Real-ESRGAN")
    assert not version.ai_color
    page = client.get(reverse("item", args=[film_item.slug])).content.decode()
    assert fallback[0]["key"] in page and fallback[0]["sha256"][:12] in page
    # The fallback in plain words; the engine's reason (it names a file and a command) stays off the page.
    assert "The GPEN face model could not be used on this server" in page
    assert "GPEN was not used" not in page and "python -m engine" not in page
