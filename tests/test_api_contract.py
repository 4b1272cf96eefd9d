"""What every API operation keeps to, whatever it does: a field it does not take is refused with a
400 that names it (nothing is stored), every error answer under /api/ is JSON with a message, the
colorize parameters are checked alike for the preview and the launch, and the schema says which
error statuses each operation answers."""
from __future__ import annotations

import json
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from gallery import services
from gallery.models import Comment, Partner, Report, Version, Vote
from jobs.colorize.services import colorize_params_check
from jobs.models import Job
from restoration_site.errors import ApplicationError
from tests.gallery.factories import make_item, make_version, png_upload
from tests.jobs.factories import job_for, upload_of

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")


@pytest.fixture(autouse=True)
def quiet(media_root):
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield


def error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"message", "extra"} and body["message"], body
    return body


def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def files_under(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file())


# --- unknown fields -------------------------------------------------------------------------------

@pytest.mark.parametrize("as_json", [False, True], ids=["multipart", "json"])
def test_a_job_launch_with_unknown_fields_is_refused_and_nothing_is_made(owner_client, film_clip, media_root, as_json):
    fields = {"recipe": "film-default", "stages": "upscale", "scale": "1000", "fps": "120", "output": "/etc/x"}
    if as_json:
        response = owner_client.post("/api/jobs/", json.dumps({**fields, "item": make_item().pk}),
                                     content_type="application/json")
    else:
        response = owner_client.post("/api/jobs/", {**fields, "file": upload_of(film_clip)})
    body = error(response, 400)
    assert body["message"] == "Unknown fields: fps, output, scale, stages"
    assert set(body["extra"]["fields"]) == {"fps", "output", "scale", "stages"}
    assert Job.objects.count() == 0
    assert not [path for path in files_under(media_root) if "jobs" in path.parts]


def test_unknown_fields_are_refused_by_comment_homework_and_report(client, owner, media_root):
    item = make_item()
    client.force_login(owner)
    body = error(client.post(f"/api/items/{item.slug}/comments/", {"body": "Hi", "rating": "5"},
                             content_type="application/json"), 400)
    assert body["message"] == "Unknown field: rating" and Comment.objects.count() == 0
    before = files_under(media_root)
    body = error(client.post(f"/api/items/{item.slug}/homework/", {"file": png_upload(), "author": "someone-else"}), 400)
    assert body["message"] == "Unknown field: author"
    assert Version.objects.count() == 0 and files_under(media_root) == before
    comment = services.comment_create(author=owner, item=item, body="Mine")
    body = error(client.post("/api/reports/", {"comment": comment.pk, "reason": "x", "severity": "high"},
                             content_type="application/json"), 400)
    assert "severity" in body["message"] and Report.objects.count() == 0


def test_the_form_parts_a_browser_sends_are_not_unknown_fields(owner_client, film_clip):
    # An HTML form's CSRF token, and a list sent as name[0], name[1].
    response = owner_client.post("/api/jobs/", {"file": upload_of(film_clip), "recipe": "film-default",
                                                "csrfmiddlewaretoken": "x" * 32})
    assert response.status_code == 201, response.content


@pytest.fixture
def world(make_user, film_clip, media_root):
    """One of everything a write operation's path can name, owned by a staff user who may do all."""
    staff = make_user("curator", is_staff=True)
    item = make_item()
    version = make_version(item, staff)
    comment = services.comment_create(author=staff, item=item, body="A comment")
    report = services.report_create(reporter=staff, reason="spam", comment=comment)
    job = job_for(staff, film_clip)
    return {"user": staff, "slug": item.slug, "uid": str(version.uid), "comment_id": str(comment.pk),
            "report_id": str(report.pk), "job_id": str(job.id)}


def _counts() -> dict:
    return {model.__name__: model.objects.count() for model in (Job, Version, Comment, Report, Vote)}


def test_every_write_operation_refuses_an_unknown_field(world):
    client = Client()
    client.force_login(world["user"])
    operations = [(path, method, operation) for path, methods in schema()["paths"].items()
                  for method, operation in methods.items() if method in UNSAFE]
    assert len(operations) >= 16, [(method, path) for path, method, _ in operations]
    before = _counts()
    for path, method, operation in operations:
        url = path.format(**{name: world[name] for name in ("slug", "uid", "comment_id", "report_id", "job_id")
                             if "{" + name + "}" in path})
        content_types = list(operation.get("requestBody", {}).get("content", {"application/json": None}))
        if "application/json" in content_types:
            response = getattr(client, method)(url, json.dumps({"zz_not_a_field": 1}), content_type="application/json")
        else:  # multipart only
            response = getattr(client, method)(url, {"zz_not_a_field": "1"})
        body = error(response, 400)
        assert body["message"] == "Unknown field: zz_not_a_field", (method, path, body)
        assert "400" in operation["responses"], (method, path)
    assert _counts() == before


# --- colorize parameters ----------------------------------------------------------------------------

@pytest.mark.parametrize("saturation", ["NaN", "nan", "inf", "-inf", "2.5", "0.1"])
@pytest.mark.parametrize("url", ["/api/jobs/colorize/preview/", "/api/jobs/colorize/"])
def test_a_saturation_that_is_not_a_number_in_range_is_a_400(owner_client, media_root, url, saturation):
    item = make_item()
    body = error(owner_client.post(url, {"item": item.pk, "model": "zhang-eccv16", "saturation": saturation}), 400)
    assert body["message"].startswith("saturation: ") and "saturation" in body["extra"]["fields"]
    assert Job.objects.count() == 0


def test_a_saturation_in_range_gives_a_preview(owner_client, media_root):
    item = make_item()
    response = owner_client.post("/api/jobs/colorize/preview/",
                                 {"item": item.pk, "model": "zhang-eccv16", "saturation": "1.5"})
    assert response.status_code == 200 and response["Content-Type"] == "image/png"


@pytest.mark.parametrize("saturation", [float("nan"), float("inf"), 2.5, True, "1"])
def test_the_service_checks_saturation_for_preview_and_launch_alike(saturation):
    with pytest.raises(ApplicationError) as refused:
        colorize_params_check(model="none", saturation=saturation)
    assert refused.value.extra == {"field": "saturation"} and "0.5" in refused.value.message
    colorize_params_check(model="none", saturation=1.0)


# --- every error is JSON ----------------------------------------------------------------------------

def test_an_api_path_that_matches_no_route_is_a_json_404(client, db):
    for path in ("/api/", "/api/nothing-here/", "/api/items/a/b/c/", "/api/jobs/not-a-uuid/"):
        assert "No such API endpoint" in error(client.get(path), 404)["message"], path
    error(client.post("/api/nothing-here/", {}), 404)
    # Outside /api/ the site's own HTML page stays.
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_method_media_type_accept_login_and_csrf_errors_are_json(client, owner, film_clip):
    error(client.get("/api/jobs/"), 403)  # not logged in
    error(client.post("/api/jobs/", {"file": upload_of(film_clip)}), 403)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(owner)
    assert "CSRF" in error(strict.post("/api/jobs/", {"recipe": "film-default"}), 403)["message"]
    client.force_login(owner)
    error(client.put("/api/jobs/", "{}", content_type="application/json"), 405)
    error(client.post("/api/jobs/", "plain words", content_type="text/plain"), 415)
    error(client.get("/api/jobs/", HTTP_ACCEPT="text/csv"), 406)
    error(client.post("/api/jobs/", "{broken", content_type="application/json"), 400)
    assert error(client.post("/api/jobs/", b"", content_type="multipart/form-data; boundary=x"), 400)["extra"]


def test_a_request_django_refuses_before_any_view_is_a_json_400(owner_client, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    fields = "&".join(f"f{n}=1" for n in range(10))
    body = error(owner_client.post("/api/jobs/", fields, content_type="application/x-www-form-urlencoded"), 400)
    assert body["message"] == "The request is malformed or too large."


def test_a_throttled_write_is_a_json_429_saying_how_long_to_wait(owner_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "comment": "1/hour"}}
    cache.clear()
    item = make_item()
    url = f"/api/items/{item.slug}/comments/"
    with mock.patch("rest_framework.throttling.ScopedRateThrottle.THROTTLE_RATES",
                    settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]):
        assert owner_client.post(url, {"body": "one"}, content_type="application/json").status_code == 201
        body = error(owner_client.post(url, {"body": "two"}, content_type="application/json"), 429)
    assert body["extra"]["wait_seconds"] > 0
    cache.clear()


# --- the schema ----------------------------------------------------------------------------------------

def test_the_schema_lists_the_error_statuses_of_every_operation():
    missing = []
    for path, methods in schema()["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            expected = set()
            if method in UNSAFE:
                expected |= {"400", "403", "415"}
            if "{" in path:
                expected.add("404")
            if path.startswith("/api/jobs/") and path != "/api/recipes/":
                expected.add("403")  # every job operation needs a login
            if not expected <= codes:
                missing.append((method, path, sorted(expected - codes)))
            for code in codes - {"200", "201", "204"}:
                content = operation["responses"][code]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/Error"}, (method, path, code)
    assert not missing
    operations = {(path, method): operation["responses"] for path, methods in schema()["paths"].items()
                  for method, operation in methods.items()}
    # Those that depend on what the operation does.
    assert "409" in operations[("/api/jobs/{job_id}/cancel/", "post")]
    assert "409" in operations[("/api/jobs/", "post")] and "429" in operations[("/api/jobs/", "post")]
    assert "429" in operations[("/api/items/{slug}/homework/", "post")]


def test_input_components_take_no_other_field():
    components = schema()["components"]["schemas"]
    for name in ("LaunchInput", "CommentInput", "HomeworkInput", "ColorizeInput", "PublishInput"):
        assert components[name]["additionalProperties"] is False, name


def test_a_partner_without_a_website_has_a_null_url_as_the_schema_allows(client):
    Partner.objects.create(slug="archive", name="An archive")
    Partner.objects.create(slug="paper", name="A paper", url="https://paper.example/")
    urls = {row["slug"]: row["url"] for row in client.get("/api/partners/").json()["results"]}
    assert urls == {"archive": None, "paper": "https://paper.example/"}
    assert client.get("/api/partners/archive/").json()["url"] is None
    url = schema()["components"]["schemas"]["PartnerBrief"]["properties"]["url"]
    assert url["format"] == "uri" and url["nullable"] is True
