"""The HTML write views (comment, report, homework, job launch) have the API's rates, and share its
counts: a person cannot get twice the rate by using both."""
from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.throttling import ScopedRateThrottle

from gallery.models import Comment, Report, Version
from jobs.models import Job
from tests.gallery.factories import make_item, make_version, png_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates():
    """Three writes an hour in every scope."""
    cache.clear()
    with mock.patch.object(ScopedRateThrottle, "THROTTLE_RATES",
                           {scope: "3/hour" for scope in ("comment", "homework", "report", "job_launch")}):
        yield
    cache.clear()


@pytest.fixture
def member(owner):
    client = Client()
    client.force_login(owner)
    return client


def test_the_fourth_comment_through_the_page_is_refused_with_429_and_a_message(rates, member, media_root):
    item = make_item()
    for n in range(3):
        assert member.post(f"/items/{item.slug}/comments/", {"body": f"note {n}"}).status_code == 302
    refused = member.post(f"/items/{item.slug}/comments/", {"body": "one too many"},
                          HTTP_REFERER=f"http://testserver{item.get_absolute_url()}")
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many in a short time: please wait 60 minutes and try again." in page
    assert f'href="http://testserver{item.get_absolute_url()}"' in page
    assert Comment.objects.count() == 3


def test_the_page_and_the_api_share_one_count(rates, member, media_root, stranger):
    item = make_item()
    assert member.post(f"/items/{item.slug}/comments/", {"body": "by the page"}).status_code == 302
    assert member.post(f"/api/items/{item.slug}/comments/", {"body": "by the api"}).status_code == 201
    assert member.post(f"/items/{item.slug}/comments/", {"body": "by the page again"}).status_code == 302
    assert member.post(f"/api/items/{item.slug}/comments/", {"body": "api, fourth"}).status_code == 429
    assert member.post(f"/items/{item.slug}/comments/", {"body": "page, fifth"}).status_code == 429
    assert Comment.objects.count() == 3
    other = Client()
    other.force_login(stranger)  # each person has their own count
    assert other.post(f"/items/{item.slug}/comments/", {"body": "mine"}).status_code == 302


def test_reports_and_homework_through_the_page_are_counted_too(rates, member, media_root, stranger):
    item = make_item()
    versions = [make_version(item, stranger) for _ in range(4)]
    for version in versions[:2]:
        assert member.post(f"/versions/{version.uid}/do/report/", {"reason": "spam"}).status_code == 302
    assert member.post("/api/reports/", {"version": str(versions[2].uid), "reason": "spam"}).status_code == 201
    assert member.post(f"/versions/{versions[3].uid}/do/report/", {"reason": "spam"}).status_code == 429
    assert Report.objects.count() == 3
    assert member.post(f"/versions/{versions[3].uid}/do/vote/").status_code == 302  # votes are not a report

    for seed in range(3):
        assert member.post(f"/items/{item.slug}/homework/",
                           {"file": png_upload(seed=seed), "licence": "CC-BY-4.0"}).status_code == 302
    scripted = member.post(f"/items/{item.slug}/homework/", {"file": png_upload(seed=9), "licence": "CC-BY-4.0"},
                           HTTP_ACCEPT="application/json")
    assert scripted.status_code == 429 and "please wait" in scripted.json()["message"]
    assert Version.objects.filter(is_homework=True).count() == 3


def test_job_launches_through_the_pages_are_counted(rates, member, media_root, film_clip):
    item = make_item()
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        for n in range(3):  # mistakes count too, as on the API: each launch try costs a check
            member.post(f"/jobs/new/item/{item.id}/", {"recipe": "no-such-recipe"})
        assert member.post(f"/jobs/new/item/{item.id}/", {"recipe": "film-light"}).status_code == 429
        with film_clip.open("rb") as clip:
            assert member.post("/jobs/new/", {"file": clip, "recipe": "film-light"}).status_code == 429
    assert Job.objects.count() == 0
    assert member.get("/jobs/new/").status_code == 200  # reading the form is not a write
