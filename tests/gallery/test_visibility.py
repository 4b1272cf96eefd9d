"""One rule for what a user may see, and so comment on, reply to, report and vote for: hidden
versions and comments are for staff, deleted comments for nobody. Each rule is checked through the
HTML views and through the API; what is refused is a 404, as reading it is, and nothing is stored."""
from __future__ import annotations

import pytest
from django.test import Client

from gallery import services
from gallery.models import Comment, Report, Vote
from tests.gallery.factories import make_item, make_version

pytestmark = pytest.mark.django_db


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post_json(client, url, data):
    return client.post(url, data, content_type="application/json")


@pytest.fixture
def staff(make_user):
    return make_user("curator", is_staff=True)


@pytest.fixture
def scene(media_root, owner):
    """An item with a shown and a hidden version, and a shown, a hidden and a deleted comment."""
    item = make_item()
    shown = make_version(item, owner, title="Shown restoration")
    hidden = make_version(item, owner, title="Secret restoration", is_hidden=True)
    comment = services.comment_create(author=owner, item=item, body="fine words")
    hidden_comment = services.comment_create(author=owner, item=item, body="words a moderator hid")
    Comment.objects.filter(pk=hidden_comment.pk).update(is_hidden=True)
    deleted = services.comment_create(author=owner, item=item, body="words taken back")
    Comment.objects.filter(pk=deleted.pk).update(is_deleted=True)
    for row in (hidden_comment, deleted):
        row.refresh_from_db()
    return {"item": item, "shown": shown, "hidden": hidden, "comment": comment, "hidden_comment": hidden_comment,
            "deleted": deleted}


def counts():
    return Comment.objects.count(), Report.objects.count(), Vote.objects.count()


# --- comment on a version, reply to a comment -----------------------------------------------------

@pytest.mark.parametrize("path", ["html", "api"])
def test_a_member_cannot_comment_on_a_hidden_version_or_reply_to_a_hidden_or_deleted_comment(
        scene, stranger, path):
    member, item = login(stranger), scene["item"]
    before = counts()
    attempts = [{"version": str(scene["hidden"].uid)}, {"parent": scene["hidden_comment"].id},
                {"parent": scene["deleted"].id}]
    for given in attempts:
        if path == "html":
            response = member.post(f"/items/{item.slug}/comments/", {"body": "hello", **given})
        else:
            response = post_json(member, f"/api/items/{item.slug}/comments/", {"body": "hello", **given})
        assert response.status_code == 404, (given, response.status_code)
    assert counts() == before
    # What they can see, they can comment on and answer.
    if path == "html":
        assert member.post(f"/items/{item.slug}/comments/",
                           {"body": "hello", "version": str(scene["shown"].uid)}).status_code == 302
        assert member.post(f"/items/{item.slug}/comments/",
                           {"body": "hello", "parent": scene["comment"].id}).status_code == 302
    else:
        assert post_json(member, f"/api/items/{item.slug}/comments/",
                         {"body": "hello", "version": str(scene["shown"].uid)}).status_code == 201
        assert post_json(member, f"/api/items/{item.slug}/comments/",
                         {"body": "hello", "parent": scene["comment"].id}).status_code == 201
    assert Comment.objects.count() == before[0] + 2


@pytest.mark.parametrize("path", ["html", "api"])
def test_staff_may_comment_on_a_hidden_version_and_answer_a_hidden_comment_but_not_a_deleted_one(
        scene, staff, path):
    curator, item = login(staff), scene["item"]
    ok, url = (302, f"/items/{item.slug}/comments/") if path == "html" else (201, f"/api/items/{item.slug}/comments/")
    send = (lambda data: curator.post(url, data)) if path == "html" else (lambda data: post_json(curator, url, data))
    assert send({"body": "why hidden", "version": str(scene["hidden"].uid)}).status_code == ok
    assert send({"body": "noted", "parent": scene["hidden_comment"].id}).status_code == ok
    assert send({"body": "gone", "parent": scene["deleted"].id}).status_code == 404
    assert Comment.objects.filter(author=staff).count() == 2


def test_the_item_page_and_the_api_name_a_hidden_version_only_to_staff(client, scene, owner, stranger, staff):
    item, hidden = scene["item"], scene["hidden"]
    services.comment_create(author=staff, item=item, body="about the secret one", version=hidden)
    for viewer in (None, stranger, owner):
        reader = login(viewer) if viewer else Client()
        page = reader.get(item.get_absolute_url()).content.decode()
        assert "about the secret one" in page and str(hidden.uid) not in page and "Secret restoration" not in page
        threads = reader.get(f"/api/items/{item.slug}/comments/").content.decode()
        assert "about the secret one" in threads and str(hidden.uid) not in threads
    curator = login(staff)
    assert f'href="#version-{hidden.uid}"' in curator.get(item.get_absolute_url()).content.decode()
    assert str(hidden.uid) in curator.get(f"/api/items/{item.slug}/comments/").content.decode()


def test_hiding_a_version_takes_its_name_off_the_cached_page_of_anonymous_visitors(client, scene, owner, staff):
    item, shown = scene["item"], scene["shown"]
    services.comment_create(author=owner, item=item, body="about the shown one", version=shown)
    assert f'href="#version-{shown.uid}"' in client.get(item.get_absolute_url()).content.decode()
    services.version_hide(moderator=staff, version=shown)
    assert str(shown.uid) not in client.get(item.get_absolute_url()).content.decode()


# --- reports ---------------------------------------------------------------------------------------

def test_a_report_answer_names_what_it_points_at_by_id_and_carries_no_content(scene, stranger):
    member = login(stranger)
    response = post_json(member, "/api/reports/", {"comment": scene["comment"].id, "reason": "rude"})
    assert response.status_code == 201, response.content
    report = Report.objects.get()
    assert response.json() == {"id": report.id, "comment": scene["comment"].id, "version": None, "reason": "rude",
                               "state": "open", "created_at": response.json()["created_at"]}
    on_version = post_json(member, "/api/reports/", {"version": str(scene["shown"].uid), "reason": "spam"}).json()
    assert on_version["version"] == str(scene["shown"].uid) and "title" not in str(on_version)


@pytest.mark.parametrize("path", ["html", "api"])
def test_a_member_cannot_report_what_they_cannot_see(scene, stranger, path):
    member = login(stranger)
    targets = [("comment", scene["hidden_comment"]), ("comment", scene["deleted"]), ("version", scene["hidden"])]
    for kind, target in targets:
        if path == "html":
            url = (f"/comments/{target.id}/report/" if kind == "comment" else f"/versions/{target.uid}/do/report/")
            response = member.post(url, {"reason": "x"})
        else:
            response = post_json(member, "/api/reports/",
                                 {kind: target.id if kind == "comment" else str(target.uid), "reason": "x"})
        assert response.status_code == 404, (kind, target, response.status_code)
        for secret in ("words a moderator hid", "words taken back", "Secret restoration", "is_hidden"):
            assert secret not in response.content.decode()
    assert Report.objects.count() == 0
    # What they see they report, on both paths.
    if path == "html":
        assert member.post(f"/comments/{scene['comment'].id}/report/", {"reason": "x"}).status_code == 302
        assert member.post(f"/versions/{scene['shown'].uid}/do/report/", {"reason": "x"}).status_code == 302
    else:
        assert post_json(member, "/api/reports/", {"comment": scene["comment"].id, "reason": "x"}).status_code == 201
        assert post_json(member, "/api/reports/", {"version": str(scene["shown"].uid), "reason": "x"}).status_code \
            == 201
    assert Report.objects.count() == 2


@pytest.mark.parametrize("path", ["html", "api"])
def test_staff_may_report_hidden_things_but_not_a_deleted_comment(scene, staff, path):
    curator = login(staff)
    if path == "html":
        assert curator.post(f"/comments/{scene['hidden_comment'].id}/report/", {"reason": "x"}).status_code == 302
        assert curator.post(f"/versions/{scene['hidden'].uid}/do/report/", {"reason": "x"}).status_code == 302
        assert curator.post(f"/comments/{scene['deleted'].id}/report/", {"reason": "x"}).status_code == 404
    else:
        assert post_json(curator, "/api/reports/", {"comment": scene["hidden_comment"].id, "reason": "x"}) \
            .status_code == 201
        assert post_json(curator, "/api/reports/", {"version": str(scene["hidden"].uid), "reason": "x"}) \
            .status_code == 201
        assert post_json(curator, "/api/reports/", {"comment": scene["deleted"].id, "reason": "x"}).status_code \
            == 404
    assert Report.objects.count() == 2


# --- votes -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["html", "api"])
def test_nobody_votes_for_a_hidden_version_and_members_get_a_404(scene, stranger, staff, path):
    hidden = scene["hidden"]
    url = f"/versions/{hidden.uid}/do/vote/" if path == "html" else f"/api/versions/{hidden.uid}/vote/"
    assert login(stranger).post(url).status_code == 404
    answer = login(staff).post(url)
    if path == "html":  # staff see it: back to the page with the reason
        assert answer.status_code == 302
    else:
        assert answer.status_code == 409 and answer.json()["message"] == "This version was hidden by a moderator."
    assert Vote.objects.count() == 0
    assert login(stranger).post(url.replace(str(hidden.uid), str(scene["shown"].uid))).status_code in (200, 302)
    assert Vote.objects.count() == 1
