"""Gallery rows for tests, made through the real services where the rules matter."""
from __future__ import annotations

import io
import itertools

import numpy as np
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery import tasks
from gallery.models import Item, Version, item_file_path, version_file_path
from restoration_site.media import media_save_bytes

_counter = itertools.count(1)


def png_upload(name: str = "restored.png", size=(64, 48), seed: int = 0) -> SimpleUploadedFile:
    rng = np.random.default_rng(seed)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def solid_png(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_item(kind: str = Item.Kind.PHOTO, **fields) -> Item:
    """A photo item with a small PNG original in the media store (its media_info says so even for a
    film item: only the kind matters to most tests)."""
    n = next(_counter)
    item = Item(slug=f"item-{n}", kind=kind, title=fields.pop("title", f"Old photo {n}"), **fields)
    item.media.name = media_save_bytes(solid_png((n % 255, 80, 60)), item_file_path(item, "original.png"))
    item.media_info = {"kind": "image", "width": 64, "height": 48}
    item.save()
    return item


def make_version(item: Item, author, **fields) -> Version:
    version = Version(item=item, author=author, **fields)
    version.media.name = media_save_bytes(solid_png((200, 80, 60)), version_file_path(version, "media.png"))
    version.save()
    return version


def run_derived_media(obj: Item | Version) -> Item | Version:
    """What the worker does after an upload (tests run the task's function in process): poster and web copy."""
    tasks.make_derived_media(obj._meta.label, obj.pk)
    obj.refresh_from_db()
    return obj
