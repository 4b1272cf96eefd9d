"""The process machinery of `make run` (scripts/site_processes.py), with real sockets and processes,
and what it does before starting them (scripts/prepare_site.py)."""
import http.server
import io
import json
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


def test_the_web_server_and_the_periodic_processes_start_without_torch_scipy_or_scikit_image():
    """What daphne, beat and the maintenance worker load at start (Django, the apps, the URLconf and
    the ASGI application): reading the recipes must not pull in the engine's heavy libraries, which
    cost seconds and hundreds of MB in each of those processes."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import django, sys; django.setup(); import restoration_site.asgi, restoration_site.urls; "
         "print(' '.join(m for m in ('torch', 'scipy', 'skimage', 'onnxruntime') if m in sys.modules))"],
        cwd=ROOT, env={**os.environ, "DJANGO_SETTINGS_MODULE": "restoration_site.settings", "PYTHONWARNINGS": "ignore"},
        capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == ""


# --- scripts/prepare_site.py: what `make run` does before it starts the processes ---------------

WARM = "Database up to date, static files unchanged, demo content present"


def prepare(env: dict) -> str:
    result = subprocess.run([sys.executable, "scripts/prepare_site.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def manage(env: dict, *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True,
                          text=True, timeout=120).stdout


@pytest.fixture(scope="module")
def site_env(tmp_path_factory):
    """A site prepared once from nothing (its database, media, static files and secret key in a
    folder of its own), as a first `make run` would."""
    work = tmp_path_factory.mktemp("prepared-site")
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "MEDIA_STORAGE_URL", "DEBUG")}
    env.update(DATABASE_URL=f"sqlite:///{work / 'db.sqlite3'}", MEDIA_ROOT=str(work / "media"),
               STATIC_ROOT=str(work / "static"), SECRET_KEY_FILE=str(work / "secret_key"))
    first = prepare(env)
    assert "Migrating the database (" in first
    assert "Collecting static files (new or changed since the last collection)" in first
    assert "Creating the demo content" in first and "Demo content: 5 item(s) created." in first
    assert "up to date" not in first and "unchanged" not in first and "present" not in first
    assert (work / "static" / "staticfiles.json").exists()
    return env


def test_a_second_start_with_nothing_changed_skips_every_step(site_env):
    prepare(site_env)  # whatever an earlier test left to do
    output = prepare(site_env)
    assert output.strip() == WARM


def test_a_new_static_file_makes_the_next_start_collect_the_static_files_again(site_env):
    prepare(site_env)
    new = ROOT / "static" / "js" / f"prepare-check-{os.getpid()}.js"
    try:
        new.write_text("// a file the last collection did not see\n")
        output = prepare(site_env)
        assert "Collecting static files (new or changed since the last collection)" in output
        assert "Database up to date, demo content present" in output
        manifest = json.loads((Path(site_env["STATIC_ROOT"]) / "staticfiles.json").read_text())
        assert f"js/{new.name}" in manifest["paths"]
        assert prepare(site_env).strip() == WARM
    finally:
        new.unlink(missing_ok=True)


def test_static_files_removed_from_static_root_are_collected_again(site_env):
    prepare(site_env)
    (Path(site_env["STATIC_ROOT"]) / "staticfiles.json").unlink()
    output = prepare(site_env)
    assert "Collecting static files" in output
    assert (Path(site_env["STATIC_ROOT"]) / "staticfiles.json").exists()


def test_a_pending_migration_makes_the_next_start_migrate(site_env):
    prepare(site_env)
    manage(site_env, "migrate", "gallery", "0005", "-v", "0")  # as if 0006 had just arrived with a pull
    output = prepare(site_env)
    assert "Migrating the database (1 migration(s) to apply)" in output
    assert "Static files unchanged, demo content present" in output
    assert "[X] 0006_comment_at_seconds" in manage(site_env, "showmigrations", "gallery")
    assert prepare(site_env).strip() == WARM


def test_missing_demo_content_is_made_again(site_env):
    prepare(site_env)
    manage(site_env, "shell", "-c", "from gallery.models import Collection; "
                                    "Collection.objects.filter(slug='demo-collection').delete()")
    output = prepare(site_env)
    assert "Creating the demo content" in output and "Demo content: 0 item(s) created." in output
    assert "Database up to date, static files unchanged" in output
    assert prepare(site_env).strip() == WARM


def test_a_database_that_cannot_be_reached_is_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL="postgres://nobody@127.0.0.1:1/none", SECRET_KEY_FILE=str(tmp_path / "secret_key"))
    result = subprocess.run([sys.executable, "scripts/prepare_site.py"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "Could not prepare the database, static files and demo content:" in result.stderr
    assert "Traceback" not in result.stderr
