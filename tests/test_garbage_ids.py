"""Garbage where an id, a uuid or a slug is expected, in every route of the URL conf (HTML, API,
admin, websocket) and in the form fields that carry ids: a 4xx (or a redirect), never a 5xx."""
from __future__ import annotations

import re
import uuid
from unittest import mock

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

from gallery.models import Collection, Comment, Item, Partner, Report
from tests.gallery.factories import make_item, make_version
from tests.jobs.factories import job_for

pytestmark = pytest.mark.django_db

# Percent-encoded as a client sends them: words, numbers out of range, traversal, NUL, unicode, bad escapes.
GARBAGE = ["notanid", "-1", "9" * 40, "x" * 3000, "..%2F..%2Fetc%2Fpasswd", "%00", "a%00b",
           "%E6%BC%A2%E5%AD%97%C3%BC", "%F0%9F%92%A9", "%ZZ", "%C3%28", "1.5", "1e9"]
# The decoded values, for form fields and query strings.
FIELD_GARBAGE = ["notanid", "-1", "9" * 40, "x" * 3000, "../../etc", "\x00", "a\x00b", "漢字ü", "💩", "1.5",
                 str(uuid.uuid4()), "00000000-0000-0000-0000-000000000000"]

GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def url_templates(patterns=None, prefix=""):
    """Every route as a string with `{name}` where its parameters go."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        pattern = entry.pattern
        if isinstance(pattern, RoutePattern):
            piece = CONVERTER.sub(lambda m: "{%s}" % m.group(2), str(pattern))
        elif isinstance(pattern, RegexPattern):
            piece = GROUP.sub(lambda m: "{%s}" % m.group(1), str(pattern)).lstrip("^").rstrip("$").replace("\\", "")
            piece = piece.replace("?", "")
        else:
            raise AssertionError(f"unknown pattern {pattern!r}")
        if isinstance(entry, URLResolver):
            yield from url_templates(entry.url_patterns, prefix + piece)
        elif isinstance(entry, URLPattern):
            yield prefix + piece


@pytest.fixture
def world(owner, make_user, media_root, film_clip):
    """One row of each kind, all reachable under the same slug, so that a route with two
    parameters meets garbage in one and a real value in the other."""
    staff = make_user("curator", is_staff=True, is_superuser=True)
    item = make_item(title="Same")
    Item.objects.filter(pk=item.pk).update(slug="same")
    item.refresh_from_db()
    Collection.objects.create(slug="same", title="Same", is_published=True)
    Partner.objects.create(slug="same", name="Same")
    version = make_version(item, owner)
    comment = Comment.objects.create(item=item, author=owner, body="first")
    report = Report.objects.create(reporter=owner, comment=comment, reason="spam")
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
        job = job_for(owner, film_clip)
    return {"staff": staff, "owner": owner, "values": {
        "slug": "same", "uid": str(version.uid), "job_id": str(job.id), "asset_id": str(uuid.uuid4()),
        "comment_id": str(comment.pk), "report_id": str(report.pk), "item_id": str(item.pk),
        "username": owner.username, "which": "media", "action": "vote", "app_label": "gallery",
        "object_id": str(item.pk), "url": "x", "uidb64": "MQ", "token": "set-password",
        "content_type_id": "1", "path": "x", "model_name": "item"}}


def test_the_walk_covers_every_kind_of_route():
    templates = set(url_templates())
    for expected in ["jobs/{job_id}/", "versions/{uid}/do/{action}/", "comments/{comment_id}/{action}/",
                     "api/jobs/{job_id}/events/", "api/reports/{report_id}/resolve/", "items/{slug}/{which}/",
                     "people/{username}/", "jobs/new/item/{item_id}/", "admin/gallery/item/{object_id}/change/"]:
        assert expected in templates, sorted(templates)


def requests_for(templates, values):
    """(method, url) with garbage in one parameter and real values in the others."""
    for template in sorted(templates):
        names = re.findall(r"{(\w+)}", template)
        for name in names:
            for junk in GARBAGE:
                given = {other: values.get(other, "x") for other in names}
                given[name] = junk
                yield "/" + template.format(**given)


@pytest.mark.parametrize("who", ["anonymous", "owner", "staff"])
def test_garbage_in_any_url_parameter_is_never_a_server_error(world, who):
    client = Client(raise_request_exception=False)
    if who != "anonymous":
        client.force_login(world[who])
    failures = []
    for url in requests_for(set(url_templates()), world["values"]):
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url[:120]} -> {response.status_code}")
    assert failures == [], "\n".join(failures)


# --- ids in form fields and query strings -----------------------------------------------------

def field_cases(values):
    item, slug = values["item_id"], values["slug"]
    for junk in FIELD_GARBAGE:
        yield "post", f"/jobs/new/item/{item}/", {"from_version": junk}
        yield "post", f"/jobs/new/item/{item}/", {"recipe": "film-light", "face_references_stored": junk}
        yield "post", f"/items/{slug}/comments/", {"body": "hello", "version": junk}
        yield "post", f"/items/{slug}/comments/", {"body": "hello", "parent": junk}
        yield "post", "/moderation/", {"report": junk, "action": "hide"}
        yield "get", "/jobs/colorize/", {"item": junk}
        yield "get", "/jobs/colorize/", {"job": junk}
        yield "get", "/jobs/colorize/frame/", {"item": item, "frame": junk}
        yield "get", "/jobs/colorize/frame/", {"job": junk}
        yield "get", "/gallery/", {"collection": junk, "decade": junk, "page": junk, "kind": junk, "q": junk}
        yield "get", "/api/items/", {"collection": junk, "decade": junk, "page": junk, "kind": junk, "q": junk}
        yield "get", f"/items/{slug}/", {"comments": junk}
        yield "post", "/api/reports/", {"comment": junk, "reason": "x"}
        yield "post", "/api/reports/", {"version": junk, "reason": "x"}
        yield "post", f"/api/items/{slug}/comments/", {"body": "x", "version": junk}
        yield "post", f"/api/items/{slug}/comments/", {"body": "x", "parent": junk}
        yield "post", f"/api/items/{slug}/homework/", {"parent": junk}
        yield "post", "/api/jobs/", {"item": junk, "recipe": "film-light"}
        yield "post", "/api/jobs/", {"version": junk}
        yield "post", "/api/jobs/colorize/", {"item": junk}
        yield "post", "/api/jobs/colorize/", {"job": junk}
        yield "post", "/api/jobs/colorize/preview/", {"item": item, "frame": junk}
        yield "post", "/api/jobs/colorize/preview/", {"job": junk}
        yield "get", "/api/jobs/", {"page": junk, "state": junk}
        yield "post", "/accounts/login/", {"username": junk, "password": junk, "next": junk}


@pytest.mark.parametrize("who", ["anonymous", "owner", "staff"])
def test_garbage_in_id_fields_and_queries_is_never_a_server_error(world, who):
    client = Client(raise_request_exception=False)
    if who != "anonymous":
        client.force_login(world[who])
    failures = []
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
        for method, url, data in field_cases(world["values"]):
            response = getattr(client, method)(url, data)
            if response.status_code >= 500:
                failures.append(f"{method.upper()} {url} {str(data)[:100]} -> {response.status_code}")
    assert failures == [], "\n".join(failures)


def test_a_garbage_from_version_is_a_404(world):
    client = Client()
    client.force_login(world["owner"])
    for junk in ["../../etc", "notuuid", "\x00"]:
        response = client.post(f"/jobs/new/item/{world['values']['item_id']}/", {"from_version": junk})
        assert response.status_code == 404


def test_a_garbage_report_id_in_moderation_is_a_404(world):
    client = Client()
    client.force_login(world["staff"])
    assert client.post("/moderation/", {"report": "abc", "action": "hide"}).status_code == 404
    assert client.post("/moderation/", {"report": "9" * 40, "action": "hide"}).status_code == 404


# --- the websocket routes ---------------------------------------------------------------------

WS_GARBAGE = ["notuuid", "9" * 40, "x" * 3000, "..%2F..%2Fetc", "%00", "%E6%BC%A2%E5%AD%97", "%ZZ"]


def websocket_paths():
    from jobs.routing import websocket_urlpatterns

    templates = list(url_templates(websocket_urlpatterns))
    assert "ws/jobs/{job_id}/" in templates
    for template in templates:
        names = re.findall(r"{(\w+)}", template)
        for junk in WS_GARBAGE:
            if names:
                yield "/" + template.format(**{name: junk for name in names})
    yield "/ws/nothing/here/"
    yield "/ws/jobs/"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("logged_in", [False, True])
async def test_garbage_in_a_websocket_path_is_closed_with_4404_not_a_failed_handshake(owner, settings, logged_in):
    from channels.db import database_sync_to_async
    from channels.testing import WebsocketCommunicator
    from django.db import connections

    from restoration_site.asgi import application

    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    headers = [(b"origin", b"http://127.0.0.1")]
    if logged_in:
        @database_sync_to_async
        def cookie():
            client = Client()
            client.force_login(owner)
            return client.cookies["sessionid"].value
        headers.append((b"cookie", f"sessionid={await cookie()}".encode()))
    try:
        for path in websocket_paths():
            ws = WebsocketCommunicator(application, path, headers=headers)
            connected, _ = await ws.connect()  # raises here when the router fails the handshake
            assert connected, path
            assert await ws.receive_output() == {"type": "websocket.close", "code": 4404}, path
            await ws.disconnect()
        # A well-formed id that is no job of this user's: as before, 4401 or 4403.
        ws = WebsocketCommunicator(application, f"/ws/jobs/{uuid.uuid4()}/", headers=headers)
        assert (await ws.connect())[0]
        assert (await ws.receive_output())["code"] == (4403 if logged_in else 4401)
        await ws.disconnect()
    finally:
        await database_sync_to_async(connections.close_all)()
