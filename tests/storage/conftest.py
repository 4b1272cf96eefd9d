"""A real SeaweedFS for the storage tests: started once per session on loopback, with a fresh bucket."""
from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest

from restoration_site.storage_url import media_storage_from_url

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import site_processes  # noqa: E402


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """A running site_processes.SeaweedFS; a start that fails fails the test (never skips it)."""
    folder = tmp_path_factory.mktemp("seaweedfs")
    log_path = folder / "seaweedfs.log"
    with log_path.open("wb") as log:
        try:
            server = site_processes.start_seaweedfs(site_processes.free_port(), folder / "data", log=log)
        except RuntimeError as exc:
            pytest.fail(f"SeaweedFS could not start: {exc}\n--- {log_path}\n"
                        f"{log_path.read_text(errors='replace')[-3000:]}", pytrace=False)
        yield server
        site_processes.stop([server.process])


@pytest.fixture(scope="session")
def s3_media_url(seaweedfs) -> str:
    """The MEDIA_STORAGE_URL of a bucket made for this test session."""
    bucket = f"test-media-{secrets.token_hex(4)}"
    seaweedfs.create_bucket(bucket)
    return seaweedfs.storage_url(bucket)


@pytest.fixture
def s3_storage(settings, s3_media_url):
    """Django's default storage, pointed at the session's bucket through the settings."""
    from django.core.files.storage import default_storage

    settings.STORAGES = {**settings.STORAGES, "default": media_storage_from_url(s3_media_url)}
    return default_storage
