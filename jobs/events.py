"""Live job events through the channel layer, sent from sync code (the worker, sync views).

One event loop per process runs in a background thread and owns the layer's Redis
connections, so connections are reused between sends and never tied to a closed loop.
Events are best-effort: the DB row is the truth, and a failed send only logs. While Redis is
unreachable (restarting, stalled), sends pause for a while after each failure, so a job never
waits on Redis frame after frame; a page that lost its socket reconnects and reads the DB
snapshot, then live events flow again within a pause (at most MAX_PAUSE seconds).
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time

from channels.layers import get_channel_layer

from jobs.models import FINISHED_STATES

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
# After a failed send, sends are skipped until _paused_until; each failure in a row doubles the pause.
FIRST_PAUSE, MAX_PAUSE = 1.0, 8.0
_pause = 0.0
_paused_until = 0.0
# A page must not miss the end of a job, so these are always tried.
FINAL_STATES = set(FINISHED_STATES)


def _background_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _lock:
        # A forked worker child inherits the variable but not the thread: start its own.
        if _loop is None or _loop_pid != os.getpid():
            _loop = asyncio.new_event_loop()
            _loop_pid = os.getpid()
            threading.Thread(target=_loop.run_forever, name="job-events", daemon=True).start()
        return _loop


def send_job_event(group: str, payload: dict, *, timeout: float = 3.0) -> bool:
    """Send `payload` to every websocket watching `group`; returns whether the send went through."""
    global _pause, _paused_until
    layer = get_channel_layer()
    if layer is None:
        return False
    if time.monotonic() < _paused_until and payload.get("state") not in FINAL_STATES:
        return False
    # When it left this process (epoch seconds): a client can tell how late it arrived.
    message = {"type": "job.event", "payload": {**payload, "sent_at": time.time()}}
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _background_loop())
    try:
        future.result(timeout)
    except Exception as exc:  # Redis down or slow: the page falls back to the DB snapshot.
        future.cancel()
        _pause = min(MAX_PAUSE, 2 * _pause or FIRST_PAUSE)
        _paused_until = time.monotonic() + _pause
        logger.warning("Could not send a live event to %s (%s); next try in %.0f s", group,
                       exc or type(exc).__name__, _pause)
        return False
    _pause = _paused_until = 0.0
    return True
