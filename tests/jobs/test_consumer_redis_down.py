"""The job websocket with Redis unreachable: the page still gets the DB snapshot, then close code
1013 (try again later), which makes it reconnect with backoff; nothing escapes as a 1011."""
import logging
import socket
from unittest import mock

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from restoration_site.asgi import application
from tests.jobs.factories import job_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
async def close_thread_connections():
    yield
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def redis_down(settings):
    """The real Redis channel layer, pointed at a port where no Redis runs."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": [f"redis://127.0.0.1:{closed_port()}/0"]}}}
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def queued_job(owner, film_clip, media_root, settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    with mock.patch("jobs.tasks.run_job.apply_async"), mock.patch("jobs.events.send_job_event"):
        return job_for(owner, film_clip)


@database_sync_to_async
def login_cookie(client, user):
    client.force_login(user)
    return client.cookies["sessionid"].value


async def test_with_redis_down_the_owner_gets_the_snapshot_then_1013(client, owner, queued_job, redis_down, caplog):
    cookie = await login_cookie(client, owner)
    ws = WebsocketCommunicator(application, f"/ws/jobs/{queued_job.id}/",
                               headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())])
    with caplog.at_level(logging.WARNING):
        connected, _ = await ws.connect(timeout=10)
        assert connected
        first = await ws.receive_json_from(timeout=10)
        assert first["type"] == "snapshot" and first["job"]["state"] == "queued"
        closed = await ws.receive_output(timeout=10)
        assert closed == {"type": "websocket.close", "code": 1013}
        await ws.disconnect()  # raises here if the consumer itself failed
        await ws.wait(timeout=5)
    assert not [record for record in caplog.records if record.exc_info], "no traceback is logged"
    assert "Channel layer unavailable" in caplog.text


def owner_socket(job, cookie):
    return WebsocketCommunicator(application, f"/ws/jobs/{job.id}/",
                                 headers=[(b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={cookie}".encode())])


async def test_redis_lost_while_following_closes_with_1013(client, owner, queued_job, monkeypatch, caplog):
    """Redis goes away after the page subscribed: the socket closes with 1013 (the page comes back
    for a fresh snapshot) instead of failing with 1011."""
    import asyncio

    from channels.layers import InMemoryChannelLayer

    redis_gone = asyncio.Event()

    async def receive_until_gone(self, channel):
        await redis_gone.wait()
        raise ConnectionError("Connection closed by server.")

    monkeypatch.setattr(InMemoryChannelLayer, "receive", receive_until_gone)
    ws = owner_socket(queued_job, await login_cookie(client, owner))
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from())["type"] == "snapshot"
    redis_gone.set()
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 1013}
    await ws.disconnect()
    await ws.wait(timeout=5)
    assert not [record for record in caplog.records if record.exc_info]


async def test_a_disconnect_with_redis_gone_ends_quietly(client, owner, queued_job, monkeypatch, caplog):
    from channels.layers import InMemoryChannelLayer

    async def unreachable(self, group, channel):
        raise ConnectionError("Redis is down")

    ws = owner_socket(queued_job, await login_cookie(client, owner))
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from())["type"] == "snapshot"
    monkeypatch.setattr(InMemoryChannelLayer, "group_discard", unreachable)
    await ws.disconnect()
    await ws.wait(timeout=5)  # re-raises what the consumer raised
    assert not [record for record in caplog.records if record.exc_info]
    assert "unavailable on disconnect" in caplog.text


async def test_frames_that_are_not_json_objects_are_ignored(client, owner, queued_job):
    ws = owner_socket(queued_job, await login_cookie(client, owner))
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from())["type"] == "snapshot"
    for frame in ("not json", "[1, 2]", '"refresh"', "null"):
        await ws.send_to(text_data=frame)
    await ws.send_to(bytes_data=b"\x00\xff")
    await ws.send_json_to({"type": "refresh"})
    assert (await ws.receive_json_from())["type"] == "snapshot"  # still open, still answering
    await ws.disconnect()
    await ws.wait(timeout=5)
