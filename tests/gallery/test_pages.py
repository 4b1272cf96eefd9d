from unittest import mock

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engine.io import probe
from gallery.demo import DEMO_ITEMS, seed_demo_items
from gallery.models import Item
from jobs.models import Job
from restoration_site.media import media_local_file


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
    info = probe(media_local_file(version.media.name))
    assert info.frame_count == film.media_info["frame_count"] and info.audio_codecs == ["aac"]
    photo_version = Item.objects.get(slug="demo-coffee-photo").versions.get()
    assert photo_version.recipe["name"] == "painting"
    # The faces demo: its first version went through the faces stage and says how.
    faces_version = Item.objects.get(slug="demo-three-people-film").versions.get()
    assert faces_version.recipe["name"] == "film-faces"
    assert any("3 faces tracked" in note for note in faces_version.recipe["provenance"]["notes"])
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


@pytest.mark.parametrize("url", ["/items/no-such-item/", "/collections/no-such-collection/",
                                 "/partners/no-such-partner/", "/people/nobody/"])
def test_a_page_of_something_missing_is_the_site_s_404_page(client, db, url):
    """The selectors raise NotFound; a page answers it as Django answers Http404."""
    def page(address: str) -> str:
        """The page less what names its own address (the log-in links' `next`) and the CSRF token."""
        response = client.get(address)
        assert response.status_code == 404 and response["Content-Type"].startswith("text/html")
        text = response.content.decode().replace(address, "ADDRESS")
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)

    assert page(url) == page("/no-such-address/")
    assert "Page not found" in page(url)


def test_a_draft_collection_s_page_is_missing_for_all_but_staff(client, make_user, media_root):
    from gallery.models import Collection

    Collection.objects.create(slug="draft", title="Work in progress")
    assert client.get("/collections/draft/").status_code == 404
    client.force_login(make_user("curator", is_staff=True))
    assert "Work in progress" in client.get("/collections/draft/").content.decode()


def test_restore_this_launches_a_job_for_a_signed_in_user(owner_client, demo):
    item = Item.objects.get(slug="demo-cameraman-photo")
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
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
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
        response = owner_client.post(f"/jobs/new/item/{item.id}/", {"from_version": str(version.uid)})
    job = Job.objects.get()
    assert response["Location"] == f"/jobs/{job.id}/"
    assert job.recipe["stages"][0]["stage"] == "tone" and job.recipe["stages"][0]["params"]["clahe"] == 2.0
    other = make_version(Item.objects.exclude(pk=item.pk).first(), None, recipe=recipe)
    for garbage in ("../../etc", "not-a-uuid", str(other.uid)):  # not an id, or another item's version
        assert owner_client.post(f"/jobs/new/item/{item.id}/", {"from_version": garbage}).status_code == 404
    assert Job.objects.count() == 1


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


# ---- Hidden versions and comments: only staff see them, marked, with an unhide action ----

@pytest.fixture
def hidden_content(media_root, owner):
    from gallery import services
    from tests.gallery.factories import make_item, make_version

    item = make_item()
    make_version(item, owner, title="Shown restoration")
    hidden = make_version(item, owner, title="Secret restoration", is_hidden=True)
    comment = services.comment_create(author=owner, item=item, body="words a moderator hid")
    comment.is_hidden = True
    comment.save()
    return item, hidden, comment


@pytest.mark.parametrize("viewer", ["anonymous", "another user", "the owner", "staff"])
def test_hidden_versions_and_comments_show_only_to_staff(client, make_user, owner, stranger, hidden_content, viewer):
    item, hidden, comment = hidden_content
    logged_in = {"another user": stranger, "the owner": owner, "staff": make_user("moderator", is_staff=True)}
    if viewer in logged_in:
        client.force_login(logged_in[viewer])
    page = client.get(item.get_absolute_url()).content.decode()
    assert "Shown restoration" in page
    if viewer == "staff":
        assert "Secret restoration" in page and f'id="version-{hidden.uid}"' in page
        assert page.count("Hidden by a moderator: only staff see it.") == 2  # the version and the comment
        assert f"/versions/{hidden.uid}/do/unhide/" in page and f"/comments/{comment.id}/unhide/" in page
        assert "words a moderator hid" in page
    else:
        assert "Secret restoration" not in page and str(hidden.uid) not in page
        assert "words a moderator hid" not in page and "This comment was hidden by a moderator." in page
        assert "/unhide/" not in page


def test_staff_hide_and_unhide_a_version(client, make_user, stranger, hidden_content):
    item, hidden, _comment = hidden_content
    shown = item.versions.get(title="Shown restoration")
    client.force_login(stranger)
    assert client.post(f"/versions/{shown.uid}/do/hide/").status_code == 404  # not for members
    shown.refresh_from_db()
    assert not shown.is_hidden
    client.force_login(make_user("moderator", is_staff=True))
    assert client.post(f"/versions/{shown.uid}/do/hide/").status_code == 302
    assert client.post(f"/versions/{hidden.uid}/do/unhide/").status_code == 302
    shown.refresh_from_db()
    hidden.refresh_from_db()
    assert shown.is_hidden and not hidden.is_hidden
    client.logout()
    page = client.get(item.get_absolute_url()).content.decode()
    assert "Secret restoration" in page and "Shown restoration" not in page


# ---- Version provenance: the models and weights that made it ----

PROVENANCE_RECIPE = {
    "name": "film-faces", "stages": [{"stage": "faces", "params": {"references": ["jobs/x/ref-1.png"]}}],
    "provenance": {
        "models": [{"key": "gpen-bfr-512", "sha256": "ab12" * 16, "licence": "Non-commercial research only"},
                   {"key": "realesrgan-x4plus", "sha256": "cd34" * 16, "licence": "BSD-3-Clause"}],
        "notes": ["faces: GPEN was not used: GPEN-BFR-512.pth is not installed (see python -m engine models)"],
        "facts": [{"stage": "faces", "code": "faces.fallback_sr",
                   "values": {"model": "realesrgan-x4plus", "reason": "GPEN-BFR-512.pth is not installed"}}],
    },
}


def test_a_versions_models_show_with_short_hashes_and_licences(client, owner, media_root):
    from tests.gallery.factories import make_item, make_version

    item = make_item()
    version = make_version(item, owner, recipe=PROVENANCE_RECIPE)
    make_version(item, owner, recipe={"name": "film-light", "stages": [{"stage": "deflicker"}]})
    page = client.get(item.get_absolute_url()).content.decode()
    assert page.count('class="how-models"') == 1  # the version without models has no such list
    assert "GPEN-BFR-512" in page and "ab12ab12ab12" in page and "ab12" * 16 in page  # short, full in details
    assert "Real-ESRGAN x4plus" in page and "BSD-3-Clause" in page
    assert page.count('class="badge badge-nc"') == 1  # only the non-commercial weights are marked
    # What fell back, in plain words; never the engine's file names or command hints.
    assert "The GPEN face model could not be used on this server" in page
    assert ".pth" not in page and "python -m engine" not in page and "jobs/x/ref-1.png" not in page
    assert "with 1 reference photo." in page
    api = client.get(f"/api/versions/{version.uid}/").json()["provenance"]
    assert api["notes"] == PROVENANCE_RECIPE["provenance"]["notes"]
    assert [(m["key"], m["sha256"], m["non_commercial"]) for m in api["models"]] == [
        ("gpen-bfr-512", "ab12" * 16, True), ("realesrgan-x4plus", "cd34" * 16, False)]


@pytest.mark.parametrize("recipe", [{}, {"stages": []}, {"provenance": "garbled"},
                                    {"provenance": {"models": ["x", {"sha256": "no key"}], "notes": None}},
                                    {"stages": [{"stage": "deflicker", "params": "x"}, "junk", {"stage": 3}],
                                     "provenance": {"models": ["x", {"sha256": "no key"}], "facts": [
                                         "junk", {"code": "faces.tracked", "values": {"faces": "many"}},
                                         {"code": "unknown.code", "values": {}}]}}])
def test_versions_without_a_usable_provenance_show_no_models(client, owner, media_root, recipe):
    from tests.gallery.factories import make_item, make_version

    version = make_version(make_item(), owner, recipe=recipe)
    assert version.provenance == {"models": [], "notes": []}
    assert client.get(f"/api/versions/{version.uid}/").json()["provenance"] == {"models": [], "notes": []}
    page = client.get(version.item.get_absolute_url())
    assert page.status_code == 200 and 'class="how-models"' not in page.content.decode()


# ---- Comment threads: cached for anonymous visitors, fresh after every change ----

def test_anonymous_visitors_see_comment_changes_at_once(client, owner, make_user, media_root):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery import services
    from tests.gallery.factories import make_item

    item = make_item()
    comment = services.comment_create(author=owner, item=item, body="first thought")
    assert "first thought" in client.get(item.get_absolute_url()).content.decode()
    with CaptureQueriesContext(connection) as cold:
        client.get(item.get_absolute_url() + "?comments=all")
    with CaptureQueriesContext(connection) as warm:
        client.get(item.get_absolute_url() + "?comments=all")
    assert len(warm) < len(cold)  # the threads came from the cache, not the database
    services.comment_edit(user=owner, comment=comment, body="second thought")
    assert "second thought" in client.get(item.get_absolute_url()).content.decode()
    reply = services.comment_create(author=owner, item=item, body="a reply", parent=comment)
    assert "a reply" in client.get(item.get_absolute_url()).content.decode()
    services.comment_hide(moderator=make_user("moderator", is_staff=True), comment=reply)
    page = client.get(item.get_absolute_url()).content.decode()
    assert "a reply" not in page and "This comment was hidden by a moderator." in page
    services.comment_delete(user=owner, comment=comment)
    assert "second thought" not in client.get(item.get_absolute_url()).content.decode()


# ---- Uploads: the progress bar's JSON answers; the form still works without the script ----

def test_homework_answers_json_to_the_upload_script(owner_client, owner, media_root):
    from tests.gallery.factories import make_item, png_upload

    item = make_item()
    url = f"/items/{item.slug}/homework/"
    bad = owner_client.post(url, {"file": SimpleUploadedFile("x.png", b"not a picture"), "licence": "CC-BY-4.0"},
                            HTTP_ACCEPT="application/json")
    assert bad.status_code == 400 and "not an image or video" in bad.json()["message"]
    empty = owner_client.post(url, {}, HTTP_ACCEPT="application/json")
    assert empty.status_code == 400 and empty.json()["extra"]["fields"]["file"]
    good = owner_client.post(url, {"file": png_upload(), "title": "By hand", "licence": "CC-BY-4.0"},
                             HTTP_ACCEPT="application/json")
    assert good.status_code == 200 and good.json() == {"redirect": f"{item.get_absolute_url()}#versions"}
    page = owner_client.get(good.json()["redirect"]).content.decode()
    assert "Thank you! Your homework is on the page." in page and "By hand" in page
    assert "data-upload-form" in page and "js/upload.js" in page and "data-upload-sending" in page
    plain = owner_client.post(url, {"file": SimpleUploadedFile("x.png", b"not a picture"), "licence": "CC-BY-4.0"})
    assert plain.status_code == 302 and plain["Location"].endswith("#homework")


def test_stills_get_the_zoomable_viewer_and_films_do_not(client, demo):
    photo = client.get("/items/demo-cameraman-photo/").content.decode()
    assert "data-zoom-viewer" in photo and "js/zoom.js" in photo
    assert 'href="/items/demo-cameraman-photo/media/"' in photo  # the full-size file, also without the script
    film = client.get("/items/demo-astronaut-film/").content.decode()
    assert "data-zoom-viewer" not in film and "js/zoom.js" not in film


def test_posting_a_comment_or_a_reply_says_so_on_the_page(client, owner, media_root):
    from gallery.models import Comment
    from tests.gallery.factories import make_item

    item = make_item()
    client.force_login(owner)
    page = client.post(f"/items/{item.slug}/comments/", {"body": "Lovely grain"}, follow=True)
    assert page.redirect_chain[-1][0].endswith("#comments") and "Your comment is posted." in page.content.decode()
    first = Comment.objects.get()
    page = client.post(f"/items/{item.slug}/comments/", {"body": "Agreed", "parent": first.id}, follow=True)
    assert "Your reply is posted." in page.content.decode()
    page = client.post(f"/items/{item.slug}/comments/", {"body": "Ein Kommentar"}, follow=True,
                       headers={"Accept-Language": "zh-hans"})
    assert "评论已发布" in page.content.decode()


def test_gallery_cards_count_published_restorations_and_homework_and_filter_on_them(client, owner, media_root):
    from tests.gallery.factories import make_item, make_version

    restored, handed_in, untouched = make_item(title="Restored"), make_item(title="Handed in"), make_item(title="Plain")
    make_version(restored, owner)  # published from a job
    make_version(handed_in, owner, is_homework=True)
    make_version(untouched, owner, is_hidden=True)
    page = client.get("/gallery/").content.decode()
    cards = {title: re.search(rf">{title}<.*?</li>", page, re.S).group(0) for title in ("Restored", "Handed in", "Plain")}
    assert "1 restoration" in cards["Restored"] and "homework" not in cards["Restored"]
    assert "1 restoration · 1 piece of homework" in cards["Handed in"]
    assert "No restorations yet" in cards["Plain"]
    only = client.get("/gallery/", {"restored": "1"}).content.decode()
    assert "Restored" in only and "Handed in" in only and ">Plain<" not in only
    assert ">Restored<" not in client.get("/gallery/", {"homework": "1"}).content.decode()
    chinese = client.get("/gallery/", headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "1 个修复版本" in chinese and "只看有修复版本的藏品" in chinese


def test_a_comment_about_a_moment_links_to_it_and_bad_moments_are_refused(client, owner, media_root):
    from gallery.models import Comment
    from tests.gallery.factories import make_item

    film = make_item(Item.Kind.FILM)
    film.media_info = {"kind": "video", "width": 320, "height": 240, "duration": 95.0, "fps": 24.0}
    film.save()
    client.force_login(owner)
    page = client.post(f"/items/{film.slug}/comments/", {"body": "Here", "at": "1:23"}, follow=True).content.decode()
    assert Comment.objects.get().at_seconds == 83
    assert 'data-seek="83.00"' in page and ">1:23</a>" in page and "js/moments.js" in page
    page = client.post(f"/items/{film.slug}/comments/", {"body": "Nope", "at": "one minute"}, follow=True)
    assert "Write the moment as minutes:seconds" in page.content.decode()
    page = client.post(f"/items/{film.slug}/comments/", {"body": "Nope", "at": "2:00"}, follow=True)
    assert "within the clip (0 to 1:35)" in page.content.decode() and Comment.objects.count() == 1
