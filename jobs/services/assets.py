"""Pictures given with a launch (reference photos, scribbles, keyframes, color references), kept
as JobAsset rows through Django's storage API, and put into the engine's recipe only when a job
runs: stored recipes never name a file."""
from __future__ import annotations

import copy
import io
import uuid
from collections.abc import Iterable

import numpy as np
from django.utils.translation import gettext as _
from PIL import Image

from engine.stages import STAGES
from jobs.models import JobAsset, job_asset_path
from restoration_site.errors import ApplicationError
from restoration_site.media import media_delete, media_local_file, media_save, media_save_bytes

Role = JobAsset.Role


def job_asset_store(*, owner, role: str, image: np.ndarray, frame: int | None = None, position: int = 0) -> JobAsset:
    """Store a decoded picture (HxWx3 RGB or HxWx4 RGBA uint8) re-encoded as PNG (no metadata),
    under a server-made name, not yet attached to a job."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    asset = JobAsset(owner=owner, role=role, frame=frame, position=position)
    asset.file.name = media_save_bytes(buffer.getvalue(), job_asset_path(asset, "asset.png"))
    return _asset_save(asset)


def _asset_save(asset: JobAsset) -> JobAsset:
    """Save the row of an asset whose file is stored; the file goes when the row cannot be saved."""
    try:
        asset.full_clean()
        asset.save()
    except BaseException:
        media_delete(asset.file.name)
        raise
    return asset


def job_assets_owned(*, owner, ids: Iterable, role: str) -> list[JobAsset]:
    """Assets of `role` stored by an earlier try of this owner and not yet used by a job (ids sent
    back by a form), in the order given. Anything else is refused: a form must not make a job read
    another user's files."""
    refused = ApplicationError(_("A file sent with the form is not one of yours, or is gone; add it again."),
                               extra={"field": role})
    try:
        ids = [uuid.UUID(str(value)) for value in ids if value]
    except ValueError:
        raise refused from None
    found = {asset.id: asset for asset in JobAsset.objects.filter(pk__in=ids, owner=owner, role=role,
                                                                  job__isnull=True)}
    if len(found) != len(set(ids)):
        raise refused
    return [found[value] for value in ids]


def job_assets_copy(*, assets: Iterable[JobAsset], owner) -> list[JobAsset]:
    """Fresh, unattached copies for a new job of `owner` ("restore again"); only `owner`'s own
    assets travel: another person's photos and scribbles stay theirs. None is made when one of
    them is gone from the store."""
    copies = []
    try:
        for asset in assets:
            if asset.owner_id != owner.pk:
                continue
            try:
                original = media_local_file(asset.file.name)
            except FileNotFoundError:
                raise ApplicationError(_("A picture given with this job is gone; add it again with a new launch."),
                                       status_code=409, extra={"field": asset.role}) from None
            twin = JobAsset(owner=owner, role=asset.role, frame=asset.frame, position=asset.position)
            twin.file.name = media_save(original, job_asset_path(twin, asset.file.name))
            copies.append(_asset_save(twin))
    except BaseException:
        job_assets_discard(copies)
        raise
    return copies


def job_assets_discard(assets: Iterable[JobAsset]) -> None:
    """Remove the assets that no job took (stored for a launch that did not happen), files too;
    those a job took are left alone."""
    for asset in JobAsset.objects.filter(pk__in=[asset.pk for asset in assets], job__isnull=True):
        asset.delete()


def job_assets_attach(*, assets: Iterable[JobAsset], job) -> None:
    JobAsset.objects.filter(pk__in=[asset.pk for asset in assets], job__isnull=True).update(job=job)


def recipe_without_files(recipe: dict) -> dict:
    """A copy of `recipe` whose stages name no file (what a job or version stores); the stages say
    which of their parameters are files, and the job's assets fill them when it runs."""
    stored = copy.deepcopy(recipe)
    for stage in stored.get("stages", []):
        stage_class = STAGES.get(stage.get("stage"))
        for name in stage_class.file_params if stage_class else ():
            (stage.get("params") or {}).pop(name, None)
    return stored


def recipe_with_asset_paths(recipe: dict, assets: Iterable[tuple[str, int | None, str]]) -> dict:
    """The recipe as the engine runs it: `assets` ((role, frame, local path) each, in order) given to
    the stages that take them: reference photos to every faces stage, scribbles, keyframes and
    color references to the colorize stage."""
    assets = list(assets)
    engine_recipe = copy.deepcopy(recipe)
    for stage in engine_recipe.get("stages", []):
        params = stage.setdefault("params", {})
        if stage.get("stage") == "faces":
            params["references"] = [path for role, _frame, path in assets if role == Role.FACE_REFERENCE]
        elif stage.get("stage") == "colorize":
            params["scribbles"] = [{"frame": frame, "image": path} for role, frame, path in assets
                                   if role == Role.SCRIBBLE]
            params["reference_frames"] = [{"frame": frame, "image": path} for role, frame, path in assets
                                          if role == Role.KEYFRAME]
            params["reference_images"] = [path for role, _frame, path in assets if role == Role.COLOR_REFERENCE]
    return engine_recipe
