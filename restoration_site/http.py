"""Serving stored media files: byte ranges (so video can seek), nosniff, a safe file name."""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.http import FileResponse, Http404, HttpResponse

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Slice:
    """A file object that reads at most `length` bytes from `start`."""

    def __init__(self, path: Path, start: int, length: int):
        self._file = open(path, "rb")
        self._file.seek(start)
        self._left = length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._file.close()


def media_file_response(request, path: str | Path, *, download_name: str, as_attachment: bool = False):
    """A FileResponse for `path` that honours a single `Range: bytes=a-b` request."""
    path = Path(path)
    if not path.is_file():
        raise Http404("The file is missing.")
    size = path.stat().st_size
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("Range", ""))
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:
            start, end = max(0, size - int(last)), size - 1
        if start > end or start >= size:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        response = FileResponse(_Slice(path, start, end - start + 1), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    else:
        response = FileResponse(open(path, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    disposition = "attachment" if as_attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{download_name}"'
    return response
