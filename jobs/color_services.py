"""Colorizing an item or one's own uploaded file from scribbles and references: the frame to draw
on, a preview of that frame colorized in seconds, and the job that colours the whole clip.

The engine does the colouring (engine/stages/colorize.py); this module checks what a person
sends, keeps it under MEDIA_ROOT and builds the recipe. Writes go through jobs.services.
"""
from __future__ import annotations

import io
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from django.conf import settings
from django.core.files import File
from django.http import Http404
from django.utils.translation import gettext as _
from PIL import Image

from engine.io import probe, read_image, read_video_frame
from engine.errors import UnsupportedMedia
from engine.recipes import load_recipe, preset_names
from engine.stages.colorize import DEFAULT_SATURATION, MODELS, preview_keyframe
from gallery.models import Item
from jobs import services
from jobs.models import Job
from jobs.selectors import job_get_visible
from restoration_site.errors import ApplicationError
from restoration_site.uploads import inspect_media, spool_upload

# The preview is made at this height at most, so that it comes back in seconds; the job colours
# the clip at its own size (scribbles are scaled to it).
PREVIEW_MAX_HEIGHT = 480
# References and scribbles are pictures, not films: a far lower cap than the upload of a clip.
COLOR_IMAGE_MAX_BYTES = 20 * 1024 * 1024
MAX_REFERENCE_IMAGES = 4


@dataclass(frozen=True)
class ColorSource:
    """What is being colorized: a gallery item's original or the file of one of the user's jobs."""

    path: Path
    kind: str  # "image" or "video"
    frame_count: int
    item: Item | None = None
    job: Job | None = None

    @property
    def title(self) -> str:
        return self.item.display_title if self.item else self.job.source_name


def color_source_get(*, user, item_id=None, job_id=None) -> ColorSource:
    """The item (every gallery item is public) or the user's own job whose file is coloured.

    Another user's job is a 404, as it is everywhere else: it is not revealed to exist.
    """
    if not user.is_authenticated:
        raise ApplicationError(_("Log in to colorize."), status_code=403)
    if (item_id is None) == (job_id is None):
        raise ApplicationError(_("Choose an item or one of your files to colorize."), extra={"field": "item"})
    if item_id is not None:
        item = Item.objects.filter(pk=item_id).first()
        if item is None:
            raise Http404("No such item.")
        return _source(Path(item.media.path), item.media_info, item=item)
    job = job_get_visible(user=user, job_id=job_id)
    if job.owner_id != user.pk:  # staff may watch others' jobs, not colour in their name
        raise Http404("No such job.")
    return _source(Path(job.source.path), job.source_info, job=job)


def _source(path: Path, info: dict, **origin) -> ColorSource:
    if not info.get("kind"):
        try:
            info = probe(path).as_dict()
        except UnsupportedMedia:
            raise ApplicationError(_("This file cannot be read any more."), status_code=409) from None
    count = 1 if info["kind"] == "image" else max(1, int(info.get("frame_count") or 1))
    return ColorSource(path=path, kind=info["kind"], frame_count=count, **origin)


def colorizable_uploads(user):
    """The user's own uploaded files (jobs not made on a gallery item), newest first, to pick one to colour."""
    return Job.objects.filter(owner=user, item__isnull=True).order_by("-created_at")[:20]


def base_recipe_names() -> list[str]:
    """Presets that may run before colorize: those that do not colour already."""
    return [name for name in preset_names()
            if all(stage.name != "colorize" for stage in load_recipe(name).stages)]


def _frame_out_of_range(source: ColorSource, index: int) -> ApplicationError:
    return ApplicationError(_("Frame %(index)d does not exist: this file has frames 0 to %(last)d.")
                            % {"index": index, "last": source.frame_count - 1}, extra={"field": "frame"})


def source_frame(source: ColorSource, index: int) -> np.ndarray:
    """Frame `index` of the source as HxWx3 uint8 RGB, at most PREVIEW_MAX_HEIGHT tall."""
    if not 0 <= index < source.frame_count:
        raise _frame_out_of_range(source, index)
    if source.kind == "image":
        return fit_height(read_image(source.path))
    frame = read_video_frame(source.path, index)  # seeks: a late frame of a long clip comes quickly
    if frame is None:  # the container's frame count was an estimate
        raise _frame_out_of_range(source, index)
    return fit_height(frame)


def fit_height(image: np.ndarray, max_height: int = PREVIEW_MAX_HEIGHT) -> np.ndarray:
    """The image scaled down (never up) to at most `max_height` rows, keeping its shape."""
    height, width = image.shape[:2]
    if height <= max_height:
        return image
    size = (max(1, round(width * max_height / height)), max_height)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def frame_jpeg(source: ColorSource, index: int) -> bytes:
    """The frame a person draws on, as JPEG, at the preview's size."""
    buffer = io.BytesIO()
    Image.fromarray(source_frame(source, index)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


# --- what a person sends ------------------------------------------------------------------------

@dataclass
class ColorHints:
    """Checked and decoded colour a person gave for one frame, and reference pictures."""

    frame: int = 0
    scribble: np.ndarray | None = None  # HxWx4 uint8 RGBA, alpha > 0 where drawn
    reference_frame: np.ndarray | None = None  # HxWx3 uint8 RGB: this frame, colorized elsewhere
    reference_images: list[np.ndarray] = field(default_factory=list)  # HxWx3 uint8 RGB each

    @property
    def is_empty(self) -> bool:
        return self.scribble is None and self.reference_frame is None and not self.reference_images


def color_hints_read(*, frame: int = 0, scribble=None, reference_frame=None, reference_images=()) -> ColorHints:
    """Decode the uploads (Django UploadedFile or None) with the site's caps; ApplicationError says
    which one is wrong. An empty scribble (nothing drawn) counts as none."""
    if len(reference_images) > MAX_REFERENCE_IMAGES:
        raise ApplicationError(_("At most %(n)d reference images, please.") % {"n": MAX_REFERENCE_IMAGES},
                               extra={"field": "reference_images"})
    drawn = _decoded_image(scribble, "scribble", rgba=True) if scribble else None
    if drawn is not None and not drawn[..., 3].any():
        drawn = None
    return ColorHints(
        frame=frame, scribble=drawn,
        reference_frame=_decoded_image(reference_frame, "reference_frame") if reference_frame else None,
        reference_images=[_decoded_image(upload, "reference_images") for upload in reference_images])


def _decoded_image(upload, field_name: str, rgba: bool = False) -> np.ndarray:
    """An uploaded picture decoded (never trusted by its name), as RGB or RGBA uint8."""
    if upload.size is not None and upload.size > COLOR_IMAGE_MAX_BYTES:
        raise ApplicationError(_("%(field)s: the image is %(size).1f MB; the limit is %(limit).0f MB.") % {
            "field": field_name, "size": upload.size / 2**20, "limit": COLOR_IMAGE_MAX_BYTES / 2**20},
            extra={"field": field_name})
    spooled = spool_upload(upload)
    try:
        try:
            info = inspect_media(spooled)
        except ApplicationError as exc:
            raise ApplicationError(f"{field_name}: {exc.message}", extra={"field": field_name}) from None
        if info.kind != "image":
            raise ApplicationError(_("%(field)s: this must be a picture (PNG, JPEG, TIFF or WebP), not a video.")
                                   % {"field": field_name}, extra={"field": field_name})
        if rgba:
            with Image.open(spooled) as img:
                return np.asarray(img.convert("RGBA")).copy()
        return read_image(spooled)
    finally:
        spooled.unlink(missing_ok=True)


# --- preview and job -----------------------------------------------------------------------------

def _require_colour(hints: ColorHints, model: str) -> None:
    if hints.is_empty and model == "none":
        raise ApplicationError(_("Draw some colour on the frame, or add a colorized copy of it or a reference "
                                 "image (or choose a colorization model)."), extra={"field": "scribble"})


def colorize_preview(*, source: ColorSource, hints: ColorHints, model: str = "none",
                     saturation: float = DEFAULT_SATURATION) -> bytes:
    """The frame `hints.frame` colorized as the job would colour it, as PNG (lossless, so its
    luminance is exactly the frame's), at most PREVIEW_MAX_HEIGHT tall."""
    _check_model(model)
    _require_colour(hints, model)
    frame = source_frame(source, hints.frame)
    colorized = preview_keyframe(frame, reference_frame=hints.reference_frame,
                                 reference_images=[fit_height(image) for image in hints.reference_images],
                                 scribble=hints.scribble, model=model, saturation=saturation)
    buffer = io.BytesIO()
    Image.fromarray(colorized).save(buffer, format="PNG")
    return buffer.getvalue()


def _check_model(model: str) -> None:
    if model not in MODELS:
        raise ApplicationError(_("Unknown model %(model)s.") % {"model": model}, extra={"field": "model"})


def colorize_job_create(*, owner, source: ColorSource, hints: ColorHints, base_recipe: str = "", model: str = "none",
                        saturation: float = DEFAULT_SATURATION, allow_cpu: bool = False, confirm: bool = False) -> Job:
    """Store the hints under MEDIA_ROOT in a folder of the owner's and queue a job that colours the
    whole source. Nothing stays stored when the job cannot be made."""
    _check_model(model)
    _require_colour(hints, model)
    if hints.scribble is not None or hints.reference_frame is not None:
        if not 0 <= hints.frame < source.frame_count:
            raise _frame_out_of_range(source, hints.frame)
    folder = Path(settings.MEDIA_ROOT) / "colorize" / str(owner.pk) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        params = {"model": model, "saturation": saturation, **_store_hints(hints, folder)}
        recipe = colorize_recipe(base_recipe=base_recipe, colorize_params=params)
        if source.item is not None:
            return services.job_create_for_item(owner=owner, item=source.item, recipe=recipe, allow_cpu=allow_cpu,
                                                confirm=confirm)
        with open(source.path, "rb") as handle:
            return services.job_create_from_upload(owner=owner, upload=File(handle, name=source.job.source_name),
                                                   recipe=recipe, allow_cpu=allow_cpu)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _store_hints(hints: ColorHints, folder: Path) -> dict:
    """Re-encode the hints as PNG files in `folder`; the colorize stage's parameters naming them."""
    def save(array: np.ndarray, name: str) -> str:
        path = folder / name
        Image.fromarray(array).save(path, format="PNG")
        return str(path)

    params = {"reference_frames": [], "scribbles": [], "reference_images": []}
    if hints.reference_frame is not None:
        params["reference_frames"].append({"frame": hints.frame,
                                           "image": save(hints.reference_frame, f"keyframe-{hints.frame}.png")})
    if hints.scribble is not None:
        params["scribbles"].append({"frame": hints.frame, "image": save(hints.scribble, f"scribble-{hints.frame}.png")})
    for i, image in enumerate(hints.reference_images):
        params["reference_images"].append(save(image, f"reference-{i}.png"))
    return params


def colorize_recipe(*, base_recipe: str, colorize_params: dict) -> dict:
    """The base preset's stages (if any) with a colorize stage; colour goes before any frame-rate
    conversion, so that the frame numbers of scribbles and keyframes are the source's."""
    stages = []
    if base_recipe:
        stages = [stage for stage in services.recipe_resolve(base_recipe)["stages"] if stage["stage"] != "colorize"]
    position = next((i for i, stage in enumerate(stages) if stage["stage"] == "interpolate"), len(stages))
    stages.insert(position, {"stage": "colorize", "params": colorize_params})
    name = f"{base_recipe}+colorize" if base_recipe else "colorize"
    return {"name": name, "description": "Colorized from scribbles and references (AI-generated color).",
            "stages": stages}
