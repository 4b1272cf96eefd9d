"""The process machinery of `make run` (scripts/site_processes.py), with real sockets and processes."""
import http.server
import io
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import site_processes  # noqa: E402


def test_a_port_whose_connections_wait_in_time_wait_is_free():
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server side closes first: its end of the connection goes to TIME_WAIT
    time.sleep(0.1)
    client.close()
    server.close()
    time.sleep(0.1)
    states = [c.status for c in psutil.net_connections("tcp4") if c.laddr and c.laddr.port == port]
    assert psutil.CONN_TIME_WAIT in states
    assert site_processes.port_is_free("127.0.0.1", port)


def test_a_port_with_a_listening_server_is_not_free():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert not site_processes.port_is_free("127.0.0.1", busy.getsockname()[1])


def test_the_readiness_check_takes_a_redirect_as_up_without_following_it():
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(301)
            self.send_header("Location", "https://127.0.0.1:1/")  # nothing answers there
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert site_processes.answers_http("127.0.0.1", server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


def daphnes_on(port: int) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "daphne" in cmdline and str(port) in cmdline:
            found.append(process)
    return found


def test_a_web_server_that_does_not_come_up_in_time_is_stopped():
    port = site_processes.free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "restoration_site.settings"}
    with pytest.raises(RuntimeError, match="did not start within"):
        site_processes.start_web(env, "127.0.0.1", port, timeout=0.5)
    assert daphnes_on(port) == []


def quick(code: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"import sys; sys.exit({code})"], start_new_session=True)


def sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def watch_until(supervisor, condition, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trouble = supervisor.watch()
        if trouble or condition():
            return trouble
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_a_process_that_exits_is_started_again_after_a_pause_and_the_others_keep_running():
    out = io.StringIO()
    supervisor = site_processes.Supervisor(out=out, first_delay=0.2)
    starts = []

    def start():
        starts.append(time.monotonic())
        return sleeper()

    supervisor.start("worker", start)
    other = supervisor.start("redis", sleeper)
    try:
        supervisor.process("worker").kill()
        killed = time.monotonic()
        assert watch_until(supervisor, lambda: len(starts) == 2) is None
        assert starts[1] - killed >= 0.2
        assert supervisor.process("worker").poll() is None and other.poll() is None
        lines = out.getvalue().splitlines()
        assert "worker exited with code -9" in lines[0] and "starting it again in 0.2 s" in lines[0]
        assert "worker started again (pid" in lines[1]
    finally:
        supervisor.stop([["worker"], ["redis"]])
    assert supervisor.process("worker").poll() is not None and other.poll() is not None


def test_quick_exits_double_the_pause_and_too_many_give_up_with_a_message():
    out = io.StringIO()
    supervisor = site_processes.Supervisor(out=out, first_delay=0.05, max_delay=0.15, max_quick_exits=4)
    supervisor.start("beat", lambda: quick(3))
    trouble = watch_until(supervisor, lambda: False)
    assert trouble == ("beat exited 4 times within 60 s of starting (last exit code 3); giving up. "
                       "Its log is in var/log/.")
    pauses = [line.split("starting it again in ")[1] for line in out.getvalue().splitlines() if "again in" in line]
    assert pauses == ["0.05 s", "0.1 s", "0.15 s"]


def test_a_process_that_stayed_up_a_while_starts_the_count_afresh():
    out = io.StringIO()
    supervisor = site_processes.Supervisor(out=out, first_delay=0.05, stable_seconds=0.3, max_quick_exits=2)
    supervisor.start("web", sleeper)
    try:
        for _ in range(3):  # each time up longer than stable_seconds: never gives up
            time.sleep(0.35)
            supervisor.process("web").kill()
            before = supervisor.process("web")
            assert watch_until(supervisor, lambda: supervisor.process("web") is not before) is None
        assert out.getvalue().count("starting it again in 0.05 s") == 3
    finally:
        supervisor.stop([["web"]])
