"""The websocket a job page listens on: the DB snapshot on connect, then live events."""
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from jobs.selectors import job_get_visible, job_snapshot
from restoration_site.errors import NotFound

# Close codes a client can tell apart (4000-4999 are free for applications).
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
# The live channel (Redis) is down: the page gets the DB snapshot, then reconnects with backoff.
CLOSE_TRY_AGAIN_LATER = 1013

logger = logging.getLogger(__name__)


class JobConsumer(AsyncJsonWebsocketConsumer):
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
        except Exception:  # the channel layer's backend is unreachable
            logger.warning("Channel layer unavailable; sending job %s's snapshot only", snapshot["id"])
            await self.send_json({"type": "snapshot", "job": snapshot})
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        self.group = group
        await self.send_json({"type": "snapshot", "job": snapshot})

    async def disconnect(self, code):
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        # Clients only listen; a "refresh" asks for the DB snapshot again (e.g. after a gap).
        if content.get("type") == "refresh":
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
