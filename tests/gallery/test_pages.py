from unittest import mock

import pytest

from engine.io import probe
from gallery.demo import DEMO_ITEMS, seed_demo_items
from gallery.models import Item
from jobs.models import Job


@pytest.fixture
def demo(db, media_root):
    seed_demo_items(with_versions=False)
    return Item.objects.all()


def test_demo_content_fills_the_home_page(client, demo):
    assert demo.count() == len(DEMO_ITEMS)
    page = client.get("/").content.decode()
    for spec in DEMO_ITEMS:
        assert spec["title"] in page
    film = Item.objects.get(slug="demo-astronaut-film")
    assert film.media_info["kind"] == "video" and film.media_info["fps"] == 12.0
    assert film.media_info["audio_codecs"] == ["aac"]
    assert seed_demo_items(with_versions=False) == 0  # a second run adds nothing


def test_demo_items_come_with_a_first_restoration_and_a_collection(client, db, media_root):
    seed_demo_items()
    film = Item.objects.get(slug="demo-astronaut-film")
    version = film.versions.get()
    assert version.featured and version.recipe["name"] == "film-default"
    info = probe(version.media.path)
    assert info.frame_count == film.media_info["frame_count"] and info.audio_codecs == ["aac"]
    photo_version = Item.objects.get(slug="demo-coffee-photo").versions.get()
    assert photo_version.recipe["name"] == "painting"
    assert "First restorations" in client.get("/collections/demo-collection/").content.decode()


def test_chinese_titles_when_the_language_is_chinese(client, demo):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "宇航员肖像（演示影片）" in page


def test_item_page_shows_provenance_and_plays_the_film(client, demo):
    page = client.get("/items/demo-astronaut-film/").content.decode()
    assert "<video" in page and "NASA" in page and "Public domain" in page
    media = client.get("/items/demo-astronaut-film/media/")
    assert media.status_code == 200 and media["Content-Type"] == "video/mp4"
    assert client.get("/items/demo-astronaut-film/secrets/").status_code == 404


def test_restore_this_launches_a_job_for_a_signed_in_user(owner_client, demo):
    item = Item.objects.get(slug="demo-cameraman-photo")
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.services.send_job_event"):
        response = owner_client.post(f"/jobs/new/item/{item.id}/", {"recipe": "film-default"})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.id}/"
    assert job.item == item and job.kind == "image"
    page = owner_client.get(response["Location"]).content.decode()
    assert "job-progress" in page and item.title in page


def test_restore_this_asks_anonymous_visitors_to_log_in(client, demo):
    item = Item.objects.first()
    assert "Log in to restore" in client.get(item.get_absolute_url()).content.decode()
    assert client.post(f"/jobs/new/item/{item.id}/", {"recipe": "film-default"}).status_code == 302
    assert not Job.objects.exists()


def test_restore_again_reruns_a_versions_exact_recipe(owner_client, demo):
    from jobs.models import Job
    from tests.gallery.factories import make_version

    item = Item.objects.get(slug="demo-cameraman-photo")
    recipe = {"name": "custom", "stages": [{"stage": "tone", "params": {"radius": 0, "clahe": 2.0}}]}
    version = make_version(item, None, recipe=recipe)
    page = owner_client.get(item.get_absolute_url()).content.decode()
    assert "Restore again with this recipe" in page
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.services.send_job_event"):
        response = owner_client.post(f"/jobs/new/item/{item.id}/", {"from_version": str(version.uid)})
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.id}/"
    assert job.recipe["stages"][0]["stage"] == "tone" and job.recipe["stages"][0]["params"]["clahe"] == 2.0


def test_a_long_discussion_shows_the_newest_threads_and_a_link_to_all(client, demo, owner):
    from gallery import services
    from gallery.selectors import COMMENT_THREADS_SHOWN

    item = Item.objects.get(slug="demo-cameraman-photo")
    for n in range(COMMENT_THREADS_SHOWN + 5):
        services.comment_create(author=owner, item=item, body=f"thought number {n}")
    page = client.get(item.get_absolute_url()).content.decode()
    assert f"<p>thought number {COMMENT_THREADS_SHOWN + 4}</p>" in page
    assert "<p>thought number 4</p>" not in page and "<p>thought number 5</p>" in page
    assert f"of {COMMENT_THREADS_SHOWN + 5} discussions" in page
    everything = client.get(item.get_absolute_url() + "?comments=all").content.decode()
    assert "<p>thought number 0</p>" in everything
