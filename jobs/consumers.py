"""The websocket a job page listens on: the DB snapshot on connect, then live events."""
import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from jobs.selectors import job_get_visible, job_snapshot
from restoration_site.errors import NotFound

# Close codes a client can tell apart (4000-4999 are free for applications).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
# The live channel (Redis) is down: the page gets the DB snapshot, then reconnects with backoff.
CLOSE_TRY_AGAIN_LATER = 1013

logger = logging.getLogger(__name__)


class JobConsumer(AsyncJsonWebsocketConsumer):
    # channels' AsyncConsumer.__call__ sets `channel_receive` to the channel layer's receive and
    # awaits it beside the client's messages from the start; with Redis down that call raises, and
    # an exception there ends the consumer with close code 1011 and a traceback, whatever connect
    # did. The property hands channels a receive that turns the failure into one "live.lost"
    # message, then waits for the client to go.
    _live_lost = False
    group = None

    @property
    def channel_receive(self):
        return self._receive_live

    @channel_receive.setter
    def channel_receive(self, receive):
        self._layer_receive = receive

    async def _receive_live(self):
        if self._live_lost:
            await asyncio.Event().wait()  # never set: cancelled when the consumer ends
        try:
            return await self._layer_receive()
        except Exception as exc:  # the channel layer's backend is unreachable
            self._live_lost = True
            return {"type": "live.lost", "error": f"{type(exc).__name__}: {exc}"}

    async def connect(self):
        user = self.scope.get("user")
        # Accept first so the close code reaches the client (a refused handshake carries none).
        await self.accept()
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        snapshot = await self._snapshot(user, self.scope["url_route"]["kwargs"]["job_id"])
        if snapshot is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        group = f"job-{snapshot['id']}"
        try:
            await self.channel_layer.group_add(group, self.channel_name)
        except Exception as exc:  # the channel layer's backend is unreachable
            self._live_lost = True
            logger.warning("Channel layer unavailable (%s: %s); sending job %s's snapshot only",
                           type(exc).__name__, exc, snapshot["id"])
            await self.send_json({"type": "snapshot", "job": snapshot})
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.group = group
        await self.send_json({"type": "snapshot", "job": snapshot})

    async def live_lost(self, message):
        """The channel layer failed while listening: a page that was following live events is
        told to come back (it gets a fresh snapshot then); before or after connect's own answer
        there is nothing more to say."""
        if self.group:
            logger.warning("Channel layer lost (%s); closing job %s's socket to reconnect later",
                           message["error"], self.group.removeprefix("job-"))
            self.group = None
            await self.close(code=CLOSE_TRY_AGAIN_LATER)

    async def disconnect(self, code):
        if self.group and not self._live_lost:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except Exception as exc:  # Redis went away meanwhile; the membership expires there by itself
                logger.warning("Channel layer unavailable on disconnect (%s: %s)", type(exc).__name__, exc)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        # What a client sends is never trusted: binary frames and text that is not JSON are ignored.
        if text_data is None:
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content, **kwargs):
        # Clients only listen; a "refresh" asks for the DB snapshot again (e.g. after a gap).
        if isinstance(content, dict) and content.get("type") == "refresh":
            snapshot = await self._snapshot(self.scope["user"], self.scope["url_route"]["kwargs"]["job_id"])
            if snapshot is not None:
                await self.send_json({"type": "snapshot", "job": snapshot})

    async def job_event(self, message):
        await self.send_json({"type": "event", "job": message["payload"]})

    @database_sync_to_async
    def _snapshot(self, user, job_id):
        try:
            return job_snapshot(job_get_visible(user=user, job_id=job_id))
        except NotFound:
            return None


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any other websocket path (a job id that is not a UUID, a path that does not exist): closed
    with 4404 once accepted, where the router alone would fail the handshake with a server error."""

    async def connect(self):
        await self.accept()
        await self.close(code=CLOSE_NOT_FOUND)
