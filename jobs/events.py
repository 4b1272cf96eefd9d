"""Live job events through the channel layer, sent from sync code (the worker, sync views).

One event loop per process runs in a background thread and owns the layer's Redis
connections, so connections are reused between sends and never tied to a closed loop.
Events are best-effort: the DB row is the truth, and a failed send only logs.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading

from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


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
    layer = get_channel_layer()
    if layer is None:
        return False
    message = {"type": "job.event", "payload": payload}
    future = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), _background_loop())
    try:
        future.result(timeout)
        return True
    except Exception as exc:  # Redis down or slow: the page falls back to the DB snapshot.
        future.cancel()
        logger.warning("Could not send a live event to %s: %s", group, exc)
        return False
