"""The gallery API: reads open to all, writes by the rules of gallery.services, clear 4xx messages,
uploads checked by decoding with nothing kept on failure (query counts: test_queries.py)."""
from __future__ import annotations

import io
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from PIL import Image
from rest_framework.throttling import ScopedRateThrottle

from gallery import services
from gallery.models import Collection, CollectionItem, Comment, Item, Partner, Report, Version, Vote
from jobs.services.launch import job_create_for_item
from jobs.services.run import job_run
from tests.gallery.factories import make_item, make_version, png_upload, run_derived_media
from tests.jobs.factories import upload_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_user):
    return make_user("curator", is_staff=True)


def login(user) -> Client:
    """A client of its own, logged in as `user`."""
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def item(media_root):
    return make_item(title="Bund at dusk", year=1925, place="Shanghai", creator="Unknown studio",
                     rights="Public domain", credit_line="Shanghai Library", institution="Shanghai Library",
                     call_number="SL-1925-3", tags="bund, river")


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    """A tiny file that decodes to 400 million pixels."""
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, format="PNG")
    return buffer.getvalue()


def files_under(root):
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def error(response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.content)
    body = response.json()
    assert set(body) == {"message", "extra"} and body["message"]
    return body["message"]


# --- items ------------------------------------------------------------------------------------


def test_items_list_filters(client, owner, media_root):
    film = make_item(kind=Item.Kind.FILM, title="Tram on Nanjing Road", year=1931, place="Shanghai")
    photo = make_item(title="Harbour", year=1925, place="Hong Kong", tags="boats")
    painting = make_item(kind=Item.Kind.PAINTING, title="Lotus", year=1890, creator="Ren Bonian")
    services.homework_hand_in(author=owner, item=photo, upload=png_upload())
    published = Collection.objects.create(slug="harbours", title="Harbours", is_published=True)
    draft = Collection.objects.create(slug="draft", title="Draft")
    CollectionItem.objects.create(collection=published, item=photo)
    CollectionItem.objects.create(collection=draft, item=film)

    def slugs(**params):
        response = client.get("/api/items/", params)
        assert response.status_code == 200, response.content
        return [row["slug"] for row in response.json()["results"]]

    assert slugs() == [painting.slug, photo.slug, film.slug]  # newest first
    assert slugs(kind="film") == [film.slug]
    assert slugs(decade=1920) == [photo.slug]
    assert slugs(place="shang") == [film.slug]
    assert slugs(collection="harbours") == [photo.slug]
    assert slugs(collection="draft") == []  # unpublished collections filter nothing in
    assert slugs(has_homework="true") == [photo.slug]
    make_version(painting, owner)  # a restoration published from a job: not homework, a restoration
    make_version(film, owner, is_hidden=True)  # hidden: counts for nobody
    assert slugs(has_restorations="true") == [painting.slug, photo.slug]
    assert slugs(q="ren bonian") == [painting.slug]
    assert slugs(q="boats") == [photo.slug]
    assert slugs(kind="", q="") == [painting.slug, photo.slug, film.slug]  # empty form fields are no filter
    row = client.get("/api/items/", {"kind": "photo"}).json()["results"][0]
    assert row["homework_count"] == row["restoration_count"] == 1 and row["year"] == 1925
    painting_row = client.get("/api/items/", {"kind": "painting"}).json()["results"][0]
    assert (painting_row["homework_count"], painting_row["restoration_count"]) == (0, 1)
    assert row["media_url"] == reverse("item-media", args=[photo.slug, "media"]) and row["poster_url"] is None
    assert row["api_url"] == f"/api/items/{photo.slug}/" and row["page_url"] == f"/items/{photo.slug}/"

    assert error(client.get("/api/items/", {"decade": "19x0"}), 400).startswith("decade:")
    assert "ends in 0" in error(client.get("/api/items/", {"decade": 1925}), 400)
    assert error(client.get("/api/items/", {"kind": "sculpture"}), 400).startswith("kind:")


def test_items_list_is_paginated(client, media_root):
    for _ in range(25):
        make_item()
    first = client.get("/api/items/").json()
    assert first["count"] == 25 and len(first["results"]) == 20 and first["previous"] is None
    assert first["next"].endswith("/api/items/?page=2")
    second = client.get("/api/items/", {"page": 2}).json()
    assert len(second["results"]) == 5 and second["next"] is None
    assert not {r["slug"] for r in first["results"]} & {r["slug"] for r in second["results"]}
    assert error(client.get("/api/items/", {"page": 3}), 404)


def test_item_detail_has_provenance_facts_versions_and_collections(client, item, owner, stranger, staff):
    older = make_version(item, owner, title="Older", is_homework=True)
    featured = make_version(item, stranger, title="Featured", featured=True, recipe={"name": "painting"})
    make_version(item, owner, title="Hidden", is_hidden=True)
    services.vote_toggle(user=stranger, version=older)
    partner = Partner.objects.create(slug="shanghai-library", name="Shanghai Library", url="https://example.org/")
    published = Collection.objects.create(slug="bund", title="The Bund", partner=partner, is_published=True)
    draft = Collection.objects.create(slug="bund-draft", title="Draft")
    CollectionItem.objects.create(collection=published, item=item)
    CollectionItem.objects.create(collection=draft, item=item)

    body = client.get(f"/api/items/{item.slug}/").json()
    assert (body["title"], body["year"], body["place"], body["rights"], body["credit_line"]) == (
        "Bund at dusk", 1925, "Shanghai", "Public domain", "Shanghai Library")
    assert body["call_number"] == "SL-1925-3" and body["tags"] == ["bund", "river"]
    assert body["media_info"] == {"kind": "image", "width": 64, "height": 48}
    assert body["media_url"] == reverse("item-media", args=[item.slug, "media"])
    assert client.get(body["media_url"])["Content-Type"] == "image/png"
    assert [v["title"] for v in body["versions"]] == ["Featured", "Older"]  # featured first, hidden left out
    version = body["versions"][1]
    assert (version["author"], version["vote_count"], version["voted"], version["is_homework"]) == (
        "owner", 1, False, True)
    assert version["media_url"] == reverse("version-media", args=[older.uid, "media"])
    assert body["versions"][0]["recipe"] == {"name": "painting"} and body["versions"][0]["uid"] == str(featured.uid)
    assert body["collections"] == [{"slug": "bund", "title": "The Bund", "display_title": "The Bund",
                                    "api_url": "/api/collections/bund/",
                                    "partner": {"slug": "shanghai-library", "name": "Shanghai Library",
                                                "display_name": "Shanghai Library", "url": "https://example.org/",
                                                "api_url": "/api/partners/shanghai-library/"}}]
    # The vote is the viewer's own.
    assert login(stranger).get(f"/api/items/{item.slug}/").json()["versions"][1]["voted"] is True
    assert error(client.get("/api/items/no-such-item/"), 404) == "No such item."
    assert error(client.get("/api/items/no-such-item/", HTTP_ACCEPT_LANGUAGE="zh-hans"), 404) == "该藏品不存在。"


def test_item_versions_and_version_detail(client, item, owner, stranger, make_user):
    versions = [make_version(item, owner, title=f"v{i}") for i in range(3)]
    hidden = make_version(item, owner, is_hidden=True)
    page = client.get(f"/api/items/{item.slug}/versions/").json()
    assert page["count"] == 3 and [v["title"] for v in page["results"]] == ["v2", "v1", "v0"]
    services.vote_toggle(user=stranger, version=versions[0])
    detail = login(stranger).get(f"/api/versions/{versions[0].uid}/").json()
    assert (detail["vote_count"], detail["voted"], detail["licence"], detail["item"]) == (1, True, "CC-BY-4.0",
                                                                                          item.slug)
    assert detail["media_url"] == f"/versions/{versions[0].uid}/media/"
    assert client.get(detail["media_url"]).status_code == 200
    assert client.get(f"/api/versions/{versions[0].uid}/").json()["voted"] is False
    assert error(client.get(f"/api/versions/{hidden.uid}/"), 404)
    assert error(login(owner).get(f"/api/versions/{hidden.uid}/"), 404)  # hidden from its author too
    assert error(client.get("/api/items/nope/versions/"), 404)
    # Staff moderate: they see hidden versions, marked so.
    curator = login(make_user("curator", is_staff=True))
    staff_page = curator.get(f"/api/items/{item.slug}/versions/").json()
    assert staff_page["count"] == 4 and [v["is_hidden"] for v in staff_page["results"]].count(True) == 1
    assert curator.get(f"/api/versions/{hidden.uid}/").json()["is_hidden"] is True


def test_only_staff_add_items(client, owner, staff, media_root, noisy_png, film_clip):
    def post(c, **fields):
        data = {"kind": "photo", "title": "Old Gate", "file": SimpleUploadedFile("gate.png", noisy_png), **fields}
        return c.post("/api/items/", data)

    assert error(post(client), 403)
    assert error(post(login(owner)), 403) == "Only staff can do this."
    assert not Item.objects.exists()
    curator = login(staff)
    response = post(curator, year=1910, place="Beijing", source_url="https://example.org/gate")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "old-gate" and body["year"] == 1910 and body["versions"] == []
    assert body["media_info"]["kind"] == "image" and body["media_info"]["width"] == 128
    assert Item.objects.get().uploader == staff
    assert post(curator).json()["slug"] == "old-gate-2"
    before = files_under(media_root)
    assert error(post(curator, kind="film"), 400) == "A film clip needs a video file."
    assert "not an image or video" in error(post(curator, file=SimpleUploadedFile("x.png", b"<html>")), 400)
    assert error(post(curator, source_url="javascript:alert(1)"), 400).startswith("source_url:")
    assert error(post(curator, kind="statue"), 400).startswith("kind:")
    assert Item.objects.count() == 2 and files_under(media_root) == before


# --- homework ---------------------------------------------------------------------------------


def test_homework_is_handed_in(client, item, owner, media_root):
    response = login(owner).post(f"/api/items/{item.slug}/homework/", {
        "file": png_upload(), "title": "Levels fixed", "description": "GIMP curves", "licence": "CC0-1.0",
        "ai_color": "true"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["author"], body["licence"], body["ai_color"], body["is_homework"]) == (
        "Levels fixed", "owner", "CC0-1.0", True, True)
    assert (body["vote_count"], body["voted"], body["recipe"]) == (0, False, {})
    version = Version.objects.get()
    assert version.media.name == f"items/{item.slug}/versions/{version.uid}/media.png"
    assert client.get(body["media_url"]).status_code == 200
    assert error(client.post(f"/api/items/{item.slug}/homework/", {"file": png_upload()}), 403)
    assert error(login(owner).post("/api/items/nope/homework/", {"file": png_upload()}), 404)


def test_homework_of_another_shape_is_a_400_naming_both(item, owner, media_root):
    response = login(owner).post(f"/api/items/{item.slug}/homework/", {"file": png_upload(size=(48, 64))})
    assert "the item is 64x48 (4:3), the file is 48x64 (3:4)" in error(response, 400)
    assert not Version.objects.exists()


@pytest.mark.parametrize("case", ["truncated video", "zero bytes", "bomb", "svg script", "lying name",
                                  "traversal name with bad content", "image for a film", "no file", "bad licence"])
def test_bad_homework_gets_a_clear_400_and_nothing_is_kept(item, owner, media_root, film_clip, bomb_png, case):
    film = make_item(kind=Item.Kind.FILM)
    target, name, content, extra = item, "restored.png", b"", {}
    if case == "truncated video":
        target, name, content = film, "restored.mp4", film_clip.read_bytes()[:100_000]
    elif case == "bomb":
        content = bomb_png
    elif case == "svg script":
        name, content = "restored.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
    elif case == "lying name":
        content = b"#!/bin/sh\nrm -rf /\n"
    elif case == "traversal name with bad content":
        name, content = "../../../../etc/cron.d/evil.png", b"* * * * * root sh -c 'id'\n"
    elif case == "image for a film":
        target, content = film, png_upload().read()
    elif case == "bad licence":
        content, extra = png_upload().read(), {"licence": "mine-all-mine"}
    before = files_under(media_root)
    data = {**extra} if case == "no file" else {"file": SimpleUploadedFile(name, content), **extra}
    message = error(login(owner).post(f"/api/items/{target.slug}/homework/", data), 400)
    expected = {
        "truncated video": "not an image or video we can read",
        "zero bytes": "file: The submitted file is empty.",
        "bomb": "too many pixels",
        "svg script": "not an image or video we can read",
        "lying name": "not an image or video we can read",
        "traversal name with bad content": "not an image or video we can read",
        "image for a film": "This item is a film clip: hand in a video.",
        "no file": "file: No file was submitted.",
        "bad licence": "licence:",
    }[case]
    assert expected in message
    assert not Version.objects.exists()
    assert files_under(media_root) == before


def test_a_traversal_file_name_is_ignored(item, owner, media_root, tmp_path):
    response = login(owner).post(f"/api/items/{item.slug}/homework/",
                                 {"file": png_upload(name="../../../../../evil.png")})
    assert response.status_code == 201, response.content
    version = Version.objects.get()
    assert version.media.name == f"items/{item.slug}/versions/{version.uid}/media.png"
    assert not [p for p in tmp_path.parent.rglob("evil*")]


def test_a_real_image_whose_name_says_video_is_taken_for_what_it_is(item, owner, media_root):
    response = login(owner).post(f"/api/items/{item.slug}/homework/", {"file": png_upload(name="clip.mp4")})
    assert response.status_code == 201 and response.json()["media_info"]["kind"] == "image"


def test_film_homework_must_be_a_video_and_a_video_is_taken(owner, media_root, film_clip, client):
    film = make_item(kind=Item.Kind.FILM)
    response = login(owner).post(f"/api/items/{film.slug}/homework/", {"file": upload_of(film_clip)})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["media_info"]["kind"] == "video" and body["poster_url"] is None  # the worker makes it
    run_derived_media(Version.objects.get(uid=body["uid"]))
    poster_url = login(owner).get(f"/api/versions/{body['uid']}/").json()["poster_url"]
    assert client.get(poster_url)["Content-Type"] == "image/jpeg"


def test_homework_daily_cap_is_a_429_with_a_message(item, owner, media_root, settings):
    settings.HOMEWORK_DAILY_CAP = 2
    member = login(owner)
    for seed in range(2):
        assert member.post(f"/api/items/{item.slug}/homework/", {"file": png_upload(seed=seed)}).status_code == 201
    before = files_under(media_root)
    message = error(member.post(f"/api/items/{item.slug}/homework/", {"file": png_upload(seed=9)}), 429)
    assert "2 pieces of homework in the last 24 hours" in message and "daily limit" in message
    assert Version.objects.count() == 2 and files_under(media_root) == before


def test_homework_parent_must_be_a_version_of_the_item(item, owner, media_root):
    other = make_version(make_item(), owner)
    member = login(owner)
    url = f"/api/items/{item.slug}/homework/"
    assert error(member.post(url, {"file": png_upload(), "parent": str(other.uid)}), 400) == (
        "The parent version belongs to another item.")
    assert error(member.post(url, {"file": png_upload(), "parent": "3f1f0e0a-0000-4000-8000-000000000000"}),
                 404) == "parent: No such version."
    mine = make_version(item, owner)
    response = member.post(url, {"file": png_upload(), "parent": str(mine.uid)})
    assert response.status_code == 201 and response.json()["parent"] == str(mine.uid)


# --- votes and featuring ----------------------------------------------------------------------


def test_votes_toggle_and_are_one_per_user(client, item, owner, stranger, make_user):
    version = make_version(item, owner)
    url = f"/api/versions/{version.uid}/vote/"
    assert error(client.post(url), 403)
    alice, bob = login(stranger), login(make_user("bob"))
    assert alice.post(url).json() == {"voted": True, "vote_count": 1}
    assert bob.post(url).json() == {"voted": True, "vote_count": 2}
    assert alice.post(url).json() == {"voted": False, "vote_count": 1}
    assert alice.post(url).json() == {"voted": True, "vote_count": 2}
    assert Vote.objects.filter(version=version, user=stranger).count() == 1
    assert login(stranger).get(f"/api/versions/{version.uid}/").json()["voted"] is True
    hidden = make_version(item, owner, is_hidden=True)
    assert error(alice.post(f"/api/versions/{hidden.uid}/vote/"), 404)


def test_only_staff_feature_versions(client, item, owner, staff):
    version = make_version(item, owner)
    url = f"/api/versions/{version.uid}/feature/"
    assert error(client.post(url), 403)
    assert error(login(owner).post(url), 403) == "Only staff can do this."
    curator = login(staff)
    assert curator.post(url).json()["featured"] is True
    assert Version.objects.get(pk=version.pk).featured
    assert curator.post(url, {"featured": False}, content_type="application/json").json()["featured"] is False
    assert not Version.objects.get(pk=version.pk).featured


# --- comments ---------------------------------------------------------------------------------


def post_json(client, url, data):
    return client.post(url, data, content_type="application/json")


def patch_json(client, url, data):
    return client.patch(url, data, content_type="application/json")


def test_comment_threads_are_one_level_deep(client, item, owner, stranger):
    version = make_version(item, owner)
    url = f"/api/items/{item.slug}/comments/"
    alice, bob = login(owner), login(stranger)
    top = post_json(alice, url, {"body": "  Lovely light.  ", "version": str(version.uid)})
    assert top.status_code == 201, top.content
    top = top.json()
    assert (top["body"], top["author"], top["version"], top["parent"]) == ("Lovely light.", "owner",
                                                                           str(version.uid), None)
    reply = post_json(bob, url, {"body": "Agreed", "parent": top["id"]}).json()
    deeper = post_json(alice, url, {"body": "Thanks", "parent": reply["id"]}).json()
    assert reply["parent"] == top["id"] and deeper["parent"] == top["id"]  # a reply to a reply joins the thread
    second = post_json(bob, url, {"body": "Which year?"}).json()
    threads = client.get(url).json()
    assert threads["count"] == 2
    assert [t["id"] for t in threads["results"]] == [top["id"], second["id"]]
    assert [r["body"] for r in threads["results"][0]["replies"]] == ["Agreed", "Thanks"]
    assert threads["results"][1]["replies"] == []


def test_comment_input_is_checked(client, item, owner):
    url = f"/api/items/{item.slug}/comments/"
    member = login(owner)
    other_item = make_item()
    other_version = make_version(other_item, owner)
    other_comment = services.comment_create(author=owner, item=other_item, body="elsewhere")
    assert error(client.post(url, {"body": "hi"}), 403)
    assert error(post_json(member, url, {"body": "   "}), 400) == "The comment is empty."
    assert error(post_json(member, url, {}), 400) == "body: This field is required."
    assert error(post_json(member, url, {"body": "x" * 5001}), 400).startswith("body:")
    assert error(post_json(member, url, {"body": "hi", "version": str(other_version.uid)}), 400) == (
        "That version belongs to another item.")
    assert error(post_json(member, url, {"body": "hi", "parent": other_comment.id}), 400) == (
        "That comment belongs to another item.")
    assert error(post_json(member, url, {"body": "hi", "parent": 999999}), 404) == "parent: No such comment."
    assert error(post_json(member, url, {"body": "hi", "version": "not-a-uuid"}), 400) == "version: Must be a valid UUID."
    hidden = make_version(item, owner, is_hidden=True)
    assert error(post_json(member, url, {"body": "hi", "version": str(hidden.uid)}), 404) == (
        "version: No such version.")
    assert error(post_json(member, "/api/items/nope/comments/", {"body": "hi"}), 404)
    assert Comment.objects.filter(item=item).count() == 0


def test_comment_edit_and_delete_permissions(client, item, owner, stranger, staff):
    comment = services.comment_create(author=owner, item=item, body="First")
    reply = services.comment_create(author=stranger, item=item, body="Reply", parent=comment)
    url = f"/api/comments/{comment.id}/"
    alice, bob, curator = login(owner), login(stranger), login(staff)
    # edit: the author only
    assert error(patch_json(client, url, {"body": "x"}), 403)
    assert error(patch_json(bob, url, {"body": "Hacked"}), 403) == "You can only edit your own comments."
    assert error(patch_json(curator, url, {"body": "Moderated"}), 403)
    assert error(patch_json(alice, url, {"body": " "}), 400) == "The comment is empty."
    edited = patch_json(alice, url, {"body": "First, edited"})
    assert edited.status_code == 200 and edited.json()["body"] == "First, edited" and edited.json()["edited_at"]
    assert Comment.objects.get(pk=comment.pk).body == "First, edited"
    # delete: the author or staff; soft, the reply stays
    assert error(client.delete(url), 403)
    assert error(bob.delete(url), 403) == "You can only delete your own comments."
    assert alice.delete(url).status_code == 204
    assert error(patch_json(alice, url, {"body": "again"}), 409) == "This comment was deleted."
    assert curator.delete(f"/api/comments/{reply.id}/").status_code == 204
    thread = client.get(f"/api/items/{item.slug}/comments/").json()["results"][0]
    assert (thread["body"], thread["is_deleted"], thread["author"]) == (None, True, "owner")
    assert thread["replies"][0]["body"] is None and thread["replies"][0]["is_deleted"]
    assert error(alice.delete("/api/comments/999999/"), 404) == "No such comment."


def test_staff_hide_comments_and_only_staff_read_them(client, item, owner, stranger, staff):
    comment = services.comment_create(author=stranger, item=item, body="Spam spam")
    url = f"/api/comments/{comment.id}/hide/"
    assert error(client.post(url), 403)
    assert error(post_json(login(owner), url, {"hidden": True}), 403) == "Only staff can do this."
    curator = login(staff)
    hidden = post_json(curator, url, {"hidden": True})
    assert hidden.status_code == 200 and hidden.json()["is_hidden"] and hidden.json()["body"] == "Spam spam"
    comments = f"/api/items/{item.slug}/comments/"
    for viewer in (client, login(owner), login(stranger)):
        thread = viewer.get(comments).json()["results"][0]
        assert thread["is_hidden"] and thread["body"] is None
    assert curator.get(comments).json()["results"][0]["body"] == "Spam spam"
    assert post_json(curator, url, {"hidden": False}).json()["is_hidden"] is False
    assert client.get(comments).json()["results"][0]["body"] == "Spam spam"
    assert error(post_json(curator, url, {"hidden": "perhaps"}), 400).startswith("hidden:")


# --- reports and moderation -------------------------------------------------------------------


def test_reports_reach_staff_who_resolve_them(client, item, owner, stranger, staff):
    comment = services.comment_create(author=stranger, item=item, body="Rude words")
    version = make_version(item, stranger, title="Stolen")
    reporter, curator = login(owner), login(staff)
    assert error(post_json(client, "/api/reports/", {"comment": comment.id, "reason": "rude"}), 403)
    assert error(post_json(reporter, "/api/reports/", {"reason": "rude"}), 400) == (
        "Report either a comment or a version.")
    assert error(post_json(reporter, "/api/reports/", {"comment": comment.id, "version": str(version.uid),
                                                        "reason": "both"}), 400) == (
        "Report either a comment or a version.")
    assert error(post_json(reporter, "/api/reports/", {"comment": comment.id, "reason": "  "}), 400) == (
        "Say what is wrong.")
    assert error(post_json(reporter, "/api/reports/", {"comment": 999999, "reason": "x"}), 404) == (
        "comment: No such comment.")
    on_comment = post_json(reporter, "/api/reports/", {"comment": comment.id, "reason": "rude"})
    assert on_comment.status_code == 201, on_comment.content
    on_version = post_json(reporter, "/api/reports/", {"version": str(version.uid), "reason": "not theirs"})
    assert on_version.json()["version"] == str(version.uid)

    assert error(client.get("/api/reports/"), 403)
    assert error(reporter.get("/api/reports/"), 403) == "Only staff can see reports."
    queue = curator.get("/api/reports/").json()
    assert queue["count"] == 2
    first = queue["results"][0]
    assert (first["reporter"], first["reason"], first["comment"]["body"], first["version"]) == (
        "owner", "rude", "Rude words", None)

    resolve = f"/api/reports/{on_comment.json()['id']}/resolve/"
    assert error(post_json(client, resolve, {"hide": True}), 403)
    assert error(post_json(reporter, resolve, {"hide": True}), 403) == "Only staff can do this."
    assert error(post_json(curator, resolve, {}), 400) == "hide: This field is required."
    done = post_json(curator, resolve, {"hide": True}).json()
    assert (done["resolution"], done["resolved_by"], done["comment"]["is_hidden"]) == ("hidden", "curator", True)
    assert client.get(f"/api/items/{item.slug}/comments/").json()["results"][0]["body"] is None
    assert error(post_json(curator, resolve, {"hide": True}), 409) == "This report is already resolved."

    done = post_json(curator, f"/api/reports/{on_version.json()['id']}/resolve/", {"hide": True}).json()
    assert done["version"]["is_hidden"] is True
    assert error(client.get(f"/api/versions/{version.uid}/"), 404)
    assert client.get(f"/api/items/{item.slug}/").json()["versions"] == []
    assert curator.get("/api/reports/").json()["count"] == 0
    assert Report.objects.filter(resolved_at__isnull=False).count() == 2
    assert error(post_json(curator, "/api/reports/999999/resolve/", {"hide": False}), 404) == "No such report."


def test_a_dismissed_report_leaves_the_comment_alone(item, owner, stranger, staff):
    comment = services.comment_create(author=stranger, item=item, body="Fine words")
    report = services.report_create(reporter=owner, comment=comment, reason="I disagree")
    done = post_json(login(staff), f"/api/reports/{report.id}/resolve/", {"hide": False}).json()
    assert done["resolution"] == "dismissed" and not Comment.objects.get(pk=comment.pk).is_hidden


# --- collections and partners -----------------------------------------------------------------


def test_collections_drafts_are_for_staff_only(client, owner, staff, media_root):
    partner = Partner.objects.create(slug="shanghai-daily", name="Shanghai Daily", name_zh="上海日报",
                                     url="https://example.org/")
    published = Collection.objects.create(slug="old-shanghai", title="Old Shanghai", partner=partner,
                                          introduction="Streets and river.", is_published=True)
    draft = Collection.objects.create(slug="secret", title="Work in progress", partner=partner)
    items = [make_item(title=f"Photo {i}") for i in range(3)]
    for position, item in zip([2, 0, 1], items):
        CollectionItem.objects.create(collection=published, item=item, position=position)
    CollectionItem.objects.create(collection=draft, item=items[0])

    for viewer in (client, login(owner)):
        assert [c["slug"] for c in viewer.get("/api/collections/").json()["results"]] == ["old-shanghai"]
        assert error(viewer.get("/api/collections/secret/"), 404) == "No such collection."
    body = client.get("/api/collections/old-shanghai/").json()
    assert [e["item"]["title"] for e in body["entries"]] == ["Photo 1", "Photo 2", "Photo 0"]
    assert [e["position"] for e in body["entries"]] == [0, 1, 2]
    assert body["partner"]["name"] == "Shanghai Daily" and body["introduction"] == "Streets and river."
    assert body["entries"][0]["item"]["media_url"] == reverse("item-media", args=[items[1].slug, "media"])
    chinese = client.get("/api/collections/old-shanghai/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert chinese["partner"]["display_name"] == "上海日报"

    curator = login(staff)
    assert {c["slug"] for c in curator.get("/api/collections/").json()["results"]} == {"old-shanghai", "secret"}
    assert curator.get("/api/collections/secret/").json()["is_published"] is False

    partners = client.get("/api/partners/").json()
    assert [p["slug"] for p in partners["results"]] == ["shanghai-daily"]
    detail = client.get("/api/partners/shanghai-daily/").json()
    assert detail["name"] == "Shanghai Daily" and [c["slug"] for c in detail["collections"]] == ["old-shanghai"]
    assert error(client.get("/api/partners/nobody/"), 404) == "No such partner."


# --- publishing a job -------------------------------------------------------------------------


def test_publishing_a_finished_job_makes_a_version_with_its_recipe(client, owner, stranger, staff, media_root,
                                                                   film_clip):
    item = services.item_create(uploader=staff, upload=upload_of(film_clip), kind=Item.Kind.FILM, title="Clip")
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        job = job_create_for_item(owner=owner, item=item, recipe_name="film-light")
        url = f"/api/jobs/{job.id}/publish/"
        alice = login(owner)
        assert error(post_json(alice, url, {}), 409) == "Only a finished job can be published."
        job_run(job_id=job.id)
    assert error(post_json(client, url, {}), 403)
    assert error(post_json(login(stranger), url, {}), 404)  # another user's job is not revealed
    assert error(post_json(alice, url, {"licence": "mine"}), 400).startswith("licence:")
    response = post_json(alice, url, {"title": "Steadied", "licence": "CC-BY-SA-4.0"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["title"], body["licence"], body["author"], body["job"], body["is_homework"]) == (
        "Steadied", "CC-BY-SA-4.0", "owner", str(job.id), False)
    assert [s["stage"] for s in body["recipe"]["stages"]] == ["deflicker"] and body["recipe"]["name"] == "film-light"
    assert body["ai_color"] is False and body["media_info"]["frame_count"] == 24
    job.refresh_from_db()  # the run added what the engine recorded (provenance) to the recipe
    assert Version.objects.get(job=job).recipe == job.recipe
    assert body["provenance"] == {"models": [], "notes": []}  # classical stages use no learned models
    assert client.get(f"/api/items/{item.slug}/").json()["versions"][0]["uid"] == body["uid"]
    assert error(post_json(alice, url, {}), 409) == "This job is already published."


# --- throttling -------------------------------------------------------------------------------


@pytest.fixture
def one_write_an_hour():
    cache.clear()
    rates = {scope: "1/hour" for scope in ("comment", "homework", "report", "job_launch")}
    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES", rates):
        yield
    cache.clear()


def test_writes_are_throttled_by_their_scope_and_reads_are_not(item, owner, one_write_an_hour, media_root):
    member = login(owner)
    version = make_version(item, owner)
    comments = f"/api/items/{item.slug}/comments/"
    writes = [
        (comments, {"body": "one"}),
        (f"/api/items/{item.slug}/homework/", {"file": png_upload()}),
        ("/api/reports/", {"version": str(version.uid), "reason": "spam"}),
    ]
    for url, data in writes:
        assert member.post(url, data).status_code == 201
    for url, data in writes:
        assert "throttled" in error(member.post(url, data), 429)
    for _ in range(3):
        assert member.get(comments).status_code == 200
    assert member.post(f"/api/versions/{version.uid}/vote/").status_code == 200  # votes toggle: no scope


# --- the schema -------------------------------------------------------------------------------


def test_the_schema_describes_the_gallery_api_without_warnings(client, tmp_path):
    text = client.get("/api/schema/").content.decode()
    for path in ("/api/items/", "/api/items/{slug}/", "/api/items/{slug}/versions/", "/api/items/{slug}/homework/",
                 "/api/items/{slug}/comments/", "/api/versions/{uid}/", "/api/versions/{uid}/vote/",
                 "/api/versions/{uid}/feature/", "/api/comments/{comment_id}/", "/api/comments/{comment_id}/hide/",
                 "/api/reports/", "/api/reports/{report_id}/resolve/", "/api/collections/",
                 "/api/collections/{slug}/", "/api/partners/", "/api/partners/{slug}/",
                 "/api/jobs/{job_id}/publish/"):
        assert f"  {path}:" in text, path
    for component in ("ItemDetail", "PaginatedItemSummaryList", "Version", "CommentThread", "ItemKindEnum"):
        assert f"    {component}:" in text
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_a_comment_about_a_moment_through_the_api(owner, media_root):
    film = make_item(Item.Kind.FILM)
    film.media_info = {"kind": "video", "width": 320, "height": 240, "duration": 95.0, "fps": 24.0}
    film.save()
    url = f"/api/items/{film.slug}/comments/"
    response = post_json(login(owner), url, {"body": "Here", "at_seconds": 83.5})
    assert response.status_code == 201 and response.json()["at_seconds"] == 83.5
    assert "within the clip" in error(post_json(login(owner), url, {"body": "x", "at_seconds": 100}), 400)
    assert error(post_json(login(owner), url, {"body": "x", "at_seconds": -1}), 400)
