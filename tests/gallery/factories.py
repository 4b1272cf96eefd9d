"""Gallery rows for tests, made through the real services where the rules matter."""
from __future__ import annotations

import io
import itertools

import numpy as np
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery import tasks
from gallery.models import Item, Version

_counter = itertools.count(1)


def png_upload(name: str = "restored.png", size=(64, 48), seed: int = 0) -> SimpleUploadedFile:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def make_item(kind: str = Item.Kind.PHOTO, **fields) -> Item:
    """A photo item with a small PNG original written under MEDIA_ROOT."""
    n = next(_counter)
    item = Item(slug=f"item-{n}", kind=kind, title=fields.pop("title", f"Old photo {n}"), **fields)
    folder = settings.MEDIA_ROOT / "items" / item.slug
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (n % 255, 80, 60)).save(folder / "original.png")
    item.media.name = f"items/{item.slug}/original.png"
    item.media_info = {"kind": "image", "width": 64, "height": 48}
    item.save()
    return item


def make_version(item: Item, author, **fields) -> Version:
    version = Version(item=item, author=author, **fields)
    folder = settings.MEDIA_ROOT / "items" / item.slug / "versions" / str(version.uid)
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (200, 80, 60)).save(folder / "media.png")
    version.media.name = f"items/{item.slug}/versions/{version.uid}/media.png"
    version.save()
    return version


def run_derived_media(obj: Item | Version) -> Item | Version:
    """What the worker does after an upload (tests run the task's function in process): poster and web copy."""
    tasks.make_derived_media(obj._meta.label, obj.pk)
    obj.refresh_from_db()
    return obj
