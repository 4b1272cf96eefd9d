"""The real web server (daphne) leaves request bodies to the site: an upload is not parsed, and so
not held in memory whole, by the server first, and a malformed body gets the site's JSON answer."""
from __future__ import annotations

import http.client
import os
import subprocess
import sys
from pathlib import Path

import pytest

import site_processes  # scripts/site_processes.py, put on the path by conftest

UPLOAD_MB = 64
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def web(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="restoration_site.settings", MEDIA_ROOT=str(tmp_path / "media"),
               SCRATCH_DIR=str(tmp_path / "scratch"), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
               DEBUG="1")  # static files from their folders: no collectstatic needed for this server
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    port = site_processes.free_port()
    process = site_processes.start_web(env, "127.0.0.1", port, log=open(tmp_path / "web.log", "wb"))
    try:
        yield process, port
    finally:
        site_processes.stop([process])


def peak_memory_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def post_multipart(port: int, body_chunks, length: int, boundary: str = "b0undary") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.putrequest("POST", "/api/jobs/")
    connection.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    for chunk in body_chunks:
        connection.send(chunk)
    return connection.getresponse()


def test_a_malformed_multipart_body_gets_the_sites_json_answer(web):
    _, port = web
    response = post_multipart(port, [b"xx"], 2)
    assert response.getheader("Content-Type") == "application/json"
    assert response.status in (400, 403) and b'"message"' in response.read()


def test_the_server_does_not_hold_an_upload_in_memory_many_times_over(web):
    process, port = web
    before = peak_memory_mb(process.pid)
    head = (b'--b0undary\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            b"Content-Type: video/mp4\r\n\r\n")
    tail = b"\r\n--b0undary--\r\n"
    megabyte = bytes(1024 * 1024)
    response = post_multipart(port, [head, *([megabyte] * UPLOAD_MB), tail], len(head) + UPLOAD_MB * 2**20 + len(tail))
    assert response.status == 403  # anonymous: refused, after the server took the body
    response.read()
    grown = peak_memory_mb(process.pid) - before
    # Twisted's own parsing of the form held about 12 copies of a 100 MB upload at once (1.2 GB).
    assert grown < 2 * UPLOAD_MB, f"the web server's peak memory grew by {grown:.0f} MB for a {UPLOAD_MB} MB upload"
