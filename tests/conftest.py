"""Shared fixtures: users, logged-in clients, and real media files made with PyAV in a second."""
from __future__ import annotations

import io
import secrets
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from engine.synthetic import make_old_film, pan_frames, write_clip
from restoration_site.storage_url import media_storage_from_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import site_processes  # noqa: E402


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the site's default language: a request in Chinese (the test client's
    LocaleMiddleware) leaves Chinese active in the thread for whatever code runs next outside one."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    def make(username: str = "alice", **extra):
        return get_user_model().objects.create_user(username=username, password="pw-for-tests-1", **extra)

    return make


@pytest.fixture
def owner(make_user):
    return make_user("owner")


@pytest.fixture
def stranger(make_user):
    return make_user("stranger")


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture(scope="session")
def film_clip(tmp_path_factory) -> Path:
    """A 24-frame, 12 fps, 320x240 degraded clip with an AAC tone track."""
    path = tmp_path_factory.mktemp("clips") / "film.mp4"
    make_old_film(data.astronaut(), path, seconds=2.0, fps=12.0, size=(320, 240), seed=1)
    return path


@pytest.fixture(scope="session")
def pcm_clip(tmp_path_factory) -> Path:
    """A 10-frame MKV whose audio is PCM (mp4 cannot carry it as is: it must be re-encoded)."""
    path = tmp_path_factory.mktemp("clips") / "pcm.mkv"
    write_clip(path, pan_frames(data.coffee(), count=10, size=(160, 120)), fps=16, audio_seconds=10 / 16,
               audio_codec="pcm_s16le")
    return path


def png_bytes(rgb: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def noisy_png() -> bytes:
    rng = np.random.default_rng(0)
    photo = data.astronaut()[::4, ::4]
    return png_bytes(np.clip(photo + rng.normal(0, 20, photo.shape), 0, 255).astype(np.uint8))


@pytest.fixture
def models_dir(tmp_path, settings):
    """An empty folder of model weights for this test, as the site configures it at start-up."""
    from engine.models import registry

    folder = tmp_path / "models"
    folder.mkdir()
    registry.configure(models_dir=folder)
    yield folder
    registry.configure(models_dir=settings.ENGINE_MODELS_DIR)


# A real SeaweedFS (S3) for the tests that need object storage: started once per session on
# loopback, only when a test asks for it.


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


@pytest.fixture(params=["local", "s3"])
def media_backend(request, settings, tmp_path) -> str:
    """Run the test once with media in a local folder and once in a SeaweedFS bucket; the scratch
    folder is the test's own either way. Returns the backend's name."""
    settings.SCRATCH_DIR = tmp_path / "scratch"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    if request.param == "s3":
        settings.STORAGES = {**settings.STORAGES,
                             "default": media_storage_from_url(request.getfixturevalue("s3_media_url"))}
    else:
        settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
    return request.param
