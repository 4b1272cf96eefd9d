import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from restoration_site.asgi import application
from tests.jobs.factories import job_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_thread_connections():
    """Consumers reach the DB from asgiref's worker thread: close that thread's connection too,
    or PostgreSQL refuses to drop the test database at the end."""
    yield
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


def communicator(job_id, session_cookie=None):
    headers = [(b"origin", b"http://127.0.0.1")]
    if session_cookie:
        headers.append((b"cookie", f"sessionid={session_cookie}".encode()))
    return WebsocketCommunicator(application, f"/ws/jobs/{job_id}/", headers=headers)


@database_sync_to_async
def login_cookie(client, user):
    client.force_login(user)
    return client.cookies["sessionid"].value


@pytest.fixture
def queued_job(owner, film_clip, media_root, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    from unittest import mock

    with mock.patch("jobs.tasks.run_job.apply_async"):
        return job_for(owner, film_clip)


async def test_owner_gets_the_snapshot_then_live_events(client, owner, queued_job):
    ws = communicator(queued_job.id, await login_cookie(client, owner))
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_json_from()
    assert first["type"] == "snapshot" and first["job"]["state"] == "queued"
    await get_channel_layer().group_send(queued_job.group_name, {"type": "job.event", "payload": {"state": "running"}})
    assert await ws.receive_json_from() == {"type": "event", "job": {"state": "running"}}
    await ws.disconnect()


async def test_a_stranger_is_closed_with_4403(client, stranger, queued_job):
    ws = communicator(queued_job.id, await login_cookie(client, stranger))
    await ws.connect()
    assert (await ws.receive_output())["code"] == 4403


async def test_anonymous_is_closed_with_4401(queued_job):
    ws = communicator(queued_job.id)
    await ws.connect()
    assert (await ws.receive_output())["code"] == 4401


async def test_a_foreign_origin_is_refused(client, owner, queued_job):
    ws = WebsocketCommunicator(application, f"/ws/jobs/{queued_job.id}/",
                               headers=[(b"origin", b"http://evil.example")])
    connected, _ = await ws.connect()
    assert not connected


async def test_with_the_live_channel_down_the_page_still_gets_the_snapshot_then_a_retry_close(
        client, owner, queued_job, monkeypatch):
    from channels.layers import InMemoryChannelLayer

    async def unreachable(self, group, channel):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(InMemoryChannelLayer, "group_add", unreachable)
    ws = communicator(queued_job.id, await login_cookie(client, owner))
    await ws.connect()
    first = await ws.receive_json_from()
    assert first["type"] == "snapshot" and first["job"]["state"] == "queued"
    assert (await ws.receive_output())["code"] == 1013  # the page reconnects with backoff
