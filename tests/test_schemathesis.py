"""A bounded schemathesis run of every API operation, with all its checks, against the site's WSGI
app in process (no server): as the owner of an item's version, comment and job, as another
logged-in user, and anonymously. Requests are made from the schema at /api/schema/, both valid
(positive) and invalid (negative) ones, a few per operation; the run is derandomized, so that it
asks the same questions every time.

Nothing heavy runs: a launched job is queued but never sent to a worker (the broker call is
mocked), and a colorize preview works on the 64x48 test picture.

Accepted exceptions, each with its reason, are in ACCEPTED below; any other failure fails the test.
"""
from __future__ import annotations

import secrets
from unittest import mock

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from gallery import services
from gallery.models import Collection, CollectionItem, Partner
from tests.gallery.factories import make_item, make_version
from tests.jobs.factories import job_for

pytestmark = pytest.mark.django_db

EXAMPLES = 6  # per operation, role and mode: ~31 operations x 3 roles x 2 modes x 6

# What schemathesis reports that the API does on purpose: (the failure's code, words of its message,
# why). Each failure of a run must match one, or the test fails.
ACCEPTED: list[tuple[str, str, str]] = [
    ("ST201", "parameter `page` in query - violates `type`",
     "DRF's PageNumberPagination takes an empty page= as the first page and page=last as the last one, "
     "as a form or a link may send them; any other page that is not a number is a 404."),
]


def accepted(failure: BaseException) -> bool:
    """Whether every failure in `failure` (one, or a group of distinct ones) is in ACCEPTED."""
    if isinstance(failure, BaseExceptionGroup):
        return all(accepted(one) for one in failure.exceptions)
    return any(getattr(failure, "code", None) == code and words in getattr(failure, "message", "")
               for code, words, _why in ACCEPTED)


@pytest.fixture
def app():
    """The site's WSGI app, called in this test's thread and database transaction: Django closes
    "old" connections at each request's start and end, which would end the test's transaction
    (django.test.Client disconnects the same handlers while it makes a request)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    cache.clear()  # throttle counts
    with mock.patch("jobs.events.send_job_event"), mock.patch("jobs.tasks.run_job.apply_async"):
        yield get_wsgi_application()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    cache.clear()


@pytest.fixture
def world(owner, film_clip, media_root):
    """What the paths name: an item in a partner's collection (the partner has no website), the
    owner's version of it, comment and job, and a report of the comment (staff's to resolve)."""
    item = make_item()
    # {slug} names an item, a collection or a partner: one slug for all three.
    partner = Partner.objects.create(slug=item.slug, name="An archive")
    collection = Collection.objects.create(slug=item.slug, title="The Bund", partner=partner, is_published=True)
    CollectionItem.objects.create(collection=collection, item=item)
    version = make_version(item, owner)
    comment = services.comment_create(author=owner, item=item, body="A comment")
    report = services.report_create(reporter=owner, reason="spam", comment=comment)
    job = job_for(owner, film_clip)
    return {"slug": item.slug, "uid": str(version.uid), "comment_id": comment.pk, "job_id": str(job.id),
            "report_id": report.pk}


def session_of(user) -> dict:
    """Cookies and headers of a logged-in browser (session and CSRF token) for `user`."""
    if user is None:
        return {"cookies": {}, "headers": {}}
    client = Client()
    client.force_login(user)
    token = secrets.token_hex(16)  # 32 characters: a CSRF secret, as the cookie holds it
    return {"cookies": {"sessionid": client.cookies["sessionid"].value, "csrftoken": token},
            "headers": {"X-CSRFToken": token}}


def run_every_operation(app, who: dict, world: dict) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    if who["cookies"]:
        # The session as the schema's cookieAuth: schemathesis then knows it, and checks (ignored_auth)
        # that a request without it, or with a made-up one, is refused.
        @schema.auth()
        class Session:
            def get(self, case, context):
                return who

            def set(self, case, data, context):
                case.cookies = {**(case.cookies or {}), **data["cookies"]}
                case.headers = {**(case.headers or {}), **data["headers"]}

    failures, statuses = [], {}
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {parameter.name for parameter in operation.path_parameters}
        known = {name: value for name, value in world.items() if name in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # Half the time on rows that exist (the owner's), half on whatever the path says.
            strategy = (operation.as_strategy(generation_mode=mode, path_parameters=known) |
                        operation.as_strategy(generation_mode=mode))

            @given(case=strategy)
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            def check(case):
                status = case.call_and_validate().status_code // 100
                statuses[status] = statuses.get(status, 0) + 1

            try:
                check()
            except Unsatisfiable:
                # Nothing of the request can be made invalid (no parameters, no body): no negative case.
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:  # every operation's failures are collected
                if not accepted(failure):
                    failures.append(f"{operation.label} [{mode.value}]: {str(failure)[:3000]}")
    # The run reached the operations' work, not only their refusals.
    assert statuses.get(2, 0) >= 5, statuses
    return failures


@pytest.mark.timeout(600)
@pytest.mark.parametrize("role", ["owner", "stranger", "anonymous"])
def test_every_operation_passes_every_check(app, world, owner, stranger, role):
    who = session_of({"owner": owner, "stranger": stranger, "anonymous": None}[role])
    failures = run_every_operation(app, who, world)
    assert not failures, "\n\n".join(failures)
