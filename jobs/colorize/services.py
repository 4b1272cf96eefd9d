"""Colorizing an item or one's own uploaded file from scribbles and references: the frame to draw
on, a preview of that frame colorized in seconds, and the job that colors the whole clip.

The engine does the coloring (engine/stages/colorize.py); this module checks what a person
sends, stores it as the job's assets and builds the recipe; the launch is jobs.services.launch's.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from django.core.files import File
from django.utils.translation import gettext as _
from PIL import Image

from engine.io import probe, read_image, read_video_frame
from engine.errors import UnsupportedMedia
from engine.recipes import presets, stage_changes_frame_rate, stage_makes_color
from engine.stages.colorize import DEFAULT_SATURATION, MODELS, preview_keyframe
from gallery.models import Item
from jobs.models import Job, JobAsset
from jobs.selectors import job_get_visible
from jobs.services.assets import job_asset_store, job_assets_discard
from jobs.services.launch import job_create_for_item, job_create_from_upload, recipe_resolve
from restoration_site.errors import ApplicationError, NotFound
from restoration_site.media import media_local_file
from restoration_site.uploads import decode_uploaded_picture

# The preview is made at this height at most, so that it comes back in seconds; the job colours
# the clip at its own size (scribbles are scaled to it).
PREVIEW_MAX_HEIGHT = 480
MAX_REFERENCE_IMAGES = 4
# The colorize stage's range for its saturation boost (engine.stages.colorize.Colorize.validate).
MIN_SATURATION, MAX_SATURATION = 0.5, 2.0


@dataclass(frozen=True)
class ColorSource:
    """What is being colorized: a gallery item's original or the file of one of the user's jobs."""

    name: str  # its name in the media store
    kind: str  # "image" or "video"
    frame_count: int
    item: Item | None = None
    job: Job | None = None

    @property
    def title(self) -> str:
        return self.item.display_title if self.item else self.job.source_name

    def local_file(self) -> Path:
        return _local_file(self.name)


def _local_file(name: str) -> Path:
    """The stored file to read: the file itself, or a copy cached from S3 that every frame and
    preview of the same clip reads (downloaded once, not per request)."""
    try:
        return media_local_file(name)
    except FileNotFoundError:
        raise _unreadable() from None


def _unreadable() -> ApplicationError:
    return ApplicationError(_("This file cannot be read any more."), status_code=409)


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
            raise NotFound(_("No such item."))
        return _source(item.media.name, item.media_info, item=item)
    job = job_get_visible(user=user, job_id=job_id)
    if job.owner_id != user.pk:  # staff may watch others' jobs, not color in their name
        raise NotFound(_("No such job."))
    return _source(job.source.name, job.source_info, job=job)


def _source(name: str, info: dict, **origin) -> ColorSource:
    if not info.get("kind"):
        try:
            info = probe(_local_file(name)).as_dict()
        except UnsupportedMedia:
            raise _unreadable() from None
    count = 1 if info["kind"] == "image" else max(1, int(info.get("frame_count") or 1))
    return ColorSource(name=name, kind=info["kind"], frame_count=count, **origin)


def colorizable_uploads(user):
    """The user's own uploaded files (jobs not made on a gallery item), newest first, to pick one to colour."""
    return Job.objects.filter(owner=user, item__isnull=True).order_by("-created_at")[:20]


def base_recipe_names() -> list[str]:
    """Presets that may run before colorize: those that do not color already."""
    return list(presets(makes_color=False))


def _frame_out_of_range(source: ColorSource, index: int) -> ApplicationError:
    return ApplicationError(_("Frame %(index)d does not exist: this file has frames 0 to %(last)d.")
                            % {"index": index, "last": source.frame_count - 1}, extra={"field": "frame"})


def source_frame(source: ColorSource, index: int) -> np.ndarray:
    """Frame `index` of the source as HxWx3 uint8 RGB, at most PREVIEW_MAX_HEIGHT tall."""
    if not 0 <= index < source.frame_count:
        raise _frame_out_of_range(source, index)
    if source.kind == "image":
        return fit_height(read_image(source.local_file()))
    frame = read_video_frame(source.local_file(), index)  # seeks: a late frame of a long clip comes quickly
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
    drawn = decode_uploaded_picture(scribble, "scribble", rgba=True) if scribble else None
    if drawn is not None and not drawn[..., 3].any():
        drawn = None
    return ColorHints(
        frame=frame, scribble=drawn,
        reference_frame=decode_uploaded_picture(reference_frame, "reference_frame") if reference_frame else None,
        reference_images=[decode_uploaded_picture(upload, "reference_images") for upload in reference_images])


# --- preview and job -----------------------------------------------------------------------------

def _require_color(hints: ColorHints, model: str) -> None:
    if hints.is_empty and model == "none":
        raise ApplicationError(_("Draw some colour on the frame, or add a colorized copy of it or a reference "
                                 "image (or choose a colorization model)."), extra={"field": "scribble"})


def colorize_preview(*, source: ColorSource, hints: ColorHints, model: str = "none",
                     saturation: float = DEFAULT_SATURATION) -> bytes:
    """The frame `hints.frame` colorized as the job would colour it, as PNG (lossless, so its
    luminance is exactly the frame's), at most PREVIEW_MAX_HEIGHT tall."""
    colorize_params_check(model=model, saturation=saturation)
    _require_color(hints, model)
    frame = source_frame(source, hints.frame)
    colorized = preview_keyframe(frame, reference_frame=hints.reference_frame,
                                 reference_images=[fit_height(image) for image in hints.reference_images],
                                 scribble=hints.scribble, model=model, saturation=saturation)
    buffer = io.BytesIO()
    Image.fromarray(colorized).save(buffer, format="PNG")
    return buffer.getvalue()


def colorize_params_check(*, model: str, saturation: float) -> None:
    """The parameters a preview and a job share, checked alike for both (a 400 saying which)."""
    if model not in MODELS:
        raise ApplicationError(_("Unknown model %(model)s.") % {"model": model}, extra={"field": "model"})
    if (isinstance(saturation, bool) or not isinstance(saturation, (int, float)) or not math.isfinite(saturation)
            or not MIN_SATURATION <= saturation <= MAX_SATURATION):
        raise ApplicationError(_("Saturation must be a number from %(low)g to %(high)g.")
                               % {"low": MIN_SATURATION, "high": MAX_SATURATION}, extra={"field": "saturation"})


def colorize_job_create(*, owner, source: ColorSource, hints: ColorHints, base_recipe: str = "", model: str = "none",
                        saturation: float = DEFAULT_SATURATION, allow_cpu: bool = False, confirm: bool = False) -> Job:
    """Store the hints as the job's assets and queue a job that colors the whole source. Nothing
    stays stored when the job cannot be made."""
    colorize_params_check(model=model, saturation=saturation)
    _require_color(hints, model)
    if hints.scribble is not None or hints.reference_frame is not None:
        if not 0 <= hints.frame < source.frame_count:
            raise _frame_out_of_range(source, hints.frame)
    recipe = colorize_recipe(base_recipe=base_recipe, colorize_params={"model": model, "saturation": saturation})
    assets = []
    try:
        assets = _store_hints(owner, hints)
        if source.item is not None:
            return job_create_for_item(owner=owner, item=source.item, recipe=recipe, assets=assets,
                                       allow_cpu=allow_cpu, confirm=confirm)
        with open(source.local_file(), "rb") as handle:
            return job_create_from_upload(owner=owner, upload=File(handle, name=source.job.source_name),
                                          recipe=recipe, assets=assets, allow_cpu=allow_cpu)
    except BaseException:
        job_assets_discard(assets)
        raise


def _store_hints(owner, hints: ColorHints) -> list[JobAsset]:
    """The hints stored as PNG assets of the owner's, not yet attached to a job."""
    Role = JobAsset.Role
    assets = []
    if hints.reference_frame is not None:
        assets.append(job_asset_store(owner=owner, role=Role.KEYFRAME, image=hints.reference_frame, frame=hints.frame))
    if hints.scribble is not None:
        assets.append(job_asset_store(owner=owner, role=Role.SCRIBBLE, image=hints.scribble, frame=hints.frame))
    for position, image in enumerate(hints.reference_images):
        assets.append(job_asset_store(owner=owner, role=Role.COLOR_REFERENCE, image=image, position=position))
    return assets


def colorize_recipe(*, base_recipe: str, colorize_params: dict) -> dict:
    """The base preset's stages (if any) with a colorize stage; color goes before any frame-rate
    conversion, so that the frame numbers of scribbles and keyframes are the source's."""
    stages = []
    if base_recipe:
        stages = [stage for stage in recipe_resolve(base_recipe)["stages"] if not stage_makes_color(stage)]
    position = next((i for i, stage in enumerate(stages) if stage_changes_frame_rate(stage)), len(stages))
    stages.insert(position, {"stage": "colorize", "params": colorize_params})
    name = f"{base_recipe}+colorize" if base_recipe else "colorize"
    return {"name": name, "description": "Colorized from scribbles and references (AI-generated color).",
            "stages": stages}
