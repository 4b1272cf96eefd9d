"""Reference photos of the people in a shot, for recipes with a `faces` stage: checked, stored as
the job's assets, and handed to every faces stage when the job runs.

The engine finds, aligns and matches the face in each photo (engine/stages/faces.py); this
module checks what a person sends and launches the job through jobs.services.launch.
"""
from __future__ import annotations

from pathlib import Path

from django.utils.translation import gettext as _

from jobs.models import Job, JobAsset
from jobs.services.assets import job_asset_store, job_assets_discard, job_assets_owned
from jobs.services.launch import job_create_for_item, job_create_from_upload, recipe_resolve
from restoration_site.errors import ApplicationError
from restoration_site.uploads import decode_uploaded_picture

FIELD = "face_references"
# A few good photos per person are enough; each one costs a face detection when the job starts.
MAX_FACE_REFERENCES = 6


def has_faces_stage(recipe: dict) -> bool:
    return any(stage["stage"] == "faces" for stage in recipe["stages"])


def _require_faces_stage(recipe: dict) -> None:
    if not has_faces_stage(recipe):
        raise ApplicationError(_("Reference photos of people are only used by recipes that restore faces; the "
                                 "recipe %(name)s does not. Choose a faces recipe or remove the photos.")
                               % {"name": recipe.get("name") or "?"}, extra={"field": FIELD})


def _require_count(count: int) -> None:
    if count > MAX_FACE_REFERENCES:
        raise ApplicationError(_("At most %(n)d reference photos, please.") % {"n": MAX_FACE_REFERENCES},
                               extra={"field": FIELD})


def face_references_store(*, owner, uploads) -> list[JobAsset]:
    """Decode each uploaded photo (never trusted by its name) with the site's caps, and store it
    re-encoded as PNG (no metadata) as an asset of the owner's. On any error, ApplicationError
    naming the photo and nothing stored."""
    uploads = list(uploads)
    _require_count(len(uploads))
    images = []
    for number, upload in enumerate(uploads, start=1):
        name = Path(upload.name or "").name[:80] or _("photo %(n)d") % {"n": number}
        try:
            images.append(decode_uploaded_picture(upload, name))
        except ApplicationError as exc:
            raise ApplicationError(exc.message, extra={"field": FIELD}) from None
    stored = []
    try:
        for position, image in enumerate(images):
            stored.append(job_asset_store(owner=owner, role=JobAsset.Role.FACE_REFERENCE, image=image,
                                          position=position))
    except BaseException:
        job_assets_discard(stored)
        raise
    return stored


def job_create_with_face_references(*, owner, recipe_name: str, uploads=(), stored=(), item=None, upload=None,
                                    allow_cpu: bool = False, confirm: bool = False,
                                    keep_for_answer: bool = False) -> Job:
    """Queue a job on a gallery item or an uploaded file with a preset whose faces stages get the
    reference photos: new `uploads`, and/or `stored` asset ids from an earlier try (verified to be
    the owner's and unused). Without photos it is the plain preset.

    Photos are removed when the job cannot be made, except with `keep_for_answer` when the refusal
    is a question (launch again anyway? run on a CPU?): then the error's extra["face_references"]
    lists their ids for the form to send back with the answer, so that the person need not add
    them again.
    """
    uploads, stored = list(uploads), [value for value in stored if value]
    if uploads or stored:
        _require_faces_stage(recipe_resolve(recipe_name))  # before anything is stored
        _require_count(len(uploads) + len(stored))
    assets = job_assets_owned(owner=owner, ids=stored, role=JobAsset.Role.FACE_REFERENCE)
    assets += face_references_store(owner=owner, uploads=uploads)
    try:
        if item is not None:
            return job_create_for_item(owner=owner, item=item, recipe_name=recipe_name, assets=assets,
                                       allow_cpu=allow_cpu, confirm=confirm)
        return job_create_from_upload(owner=owner, upload=upload, recipe_name=recipe_name, assets=assets,
                                      allow_cpu=allow_cpu)
    except ApplicationError as exc:
        if keep_for_answer and assets and (exc.extra.get("confirm_required") or exc.extra.get("field") == "allow_cpu"):
            exc.extra[FIELD] = [str(asset.id) for asset in assets]
        else:
            job_assets_discard(assets)
        raise
    except BaseException:
        job_assets_discard(assets)
        raise
