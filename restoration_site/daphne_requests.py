"""daphne's HTTP requests are Twisted's, and Twisted by default parses every multipart POST body
itself: it reads the whole body into memory (a second copy of each upload, besides the temporary
file it already spooled) and answers a malformed one with a bare 400 before the site sees it.
Django parses the body again anyway, streaming files to disk, and answers errors the site's way
(JSON under /api/). Twisted's own parsing is turned off here, through the constructor parameter
Twisted provides for it (daphne does not pass it on)."""
from __future__ import annotations

import functools


def stop_twisted_parsing_uploads() -> bool:
    """Make daphne's requests leave POST bodies to the application; False when daphne is absent."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:
        return False
    if getattr(WebRequest, "_leaves_bodies_to_the_app", False):
        return True
    original_init = WebRequest.__init__

    @functools.wraps(original_init)
    def __init__(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self._parsePOSTFormSubmission = False

    WebRequest.__init__ = __init__
    WebRequest._leaves_bodies_to_the_app = True
    return True
