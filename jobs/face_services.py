"""Reference photos of the people in a shot, for recipes with a `faces` stage: checked, stored
under MEDIA_ROOT in a folder of the owner's, and named in the stage's `references`.

The engine finds, aligns and matches the face in each photo (engine/stages/faces.py); this
module checks what a person sends and launches the job. Writes go through jobs.services.
"""
from __future__ import annotations

import copy
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from PIL import Image

from jobs import services
from jobs.color_services import _decoded_image
from jobs.models import Job
from restoration_site.errors import ApplicationError

FIELD = "face_references"
# A few good photos per person are enough; each one costs a face detection when the job starts.
MAX_FACE_REFERENCES = 6


def _owner_folder(owner) -> Path:
    return Path(settings.MEDIA_ROOT) / "faces" / str(owner.pk)


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


def face_references_store(*, owner, uploads) -> list[str]:
    """Decode each uploaded photo (never trusted by its name) with the site's caps, and store it
    re-encoded as PNG (no metadata) under a server-made name in a new folder of the owner's.
    The paths of the stored files; on any error, ApplicationError naming the photo and nothing stored."""
    uploads = list(uploads)
    _require_count(len(uploads))
    images = []
    for number, upload in enumerate(uploads, start=1):
        name = Path(upload.name or "").name[:80] or _("photo %(n)d") % {"n": number}
        try:
            images.append(_decoded_image(upload, name))
        except ApplicationError as exc:
            raise ApplicationError(exc.message, extra={"field": FIELD}) from None
    if not images:
        return []
    folder = _owner_folder(owner) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    try:
        paths = []
        for i, image in enumerate(images):
            path = folder / f"reference-{i}.png"
            Image.fromarray(image).save(path, format="PNG")
            paths.append(str(path))
        return paths
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def face_references_owned(*, owner, names) -> list[str]:
    """Photos stored by an earlier try of this owner (names sent back by a form), as absolute paths.

    Anything that is not a stored file in the owner's own folder, after resolving `..` and links,
    is refused: a form must not make a job read another user's photos or any other file."""
    names = [name for name in names if name]
    _require_count(len(names))
    folder = _owner_folder(owner).resolve()
    paths = []
    for name in names:
        path = (Path(settings.MEDIA_ROOT) / name).resolve()
        if not path.is_relative_to(folder) or not path.is_file():
            raise ApplicationError(_("A reference photo sent with the form is not one of yours, or is gone; add "
                                     "the photos again."), extra={"field": FIELD})
        paths.append(str(_owner_folder(owner) / path.relative_to(folder)))
    return paths


def face_references_discard(paths) -> None:
    """Remove the folders of photos stored for a launch that did not happen."""
    for folder in {Path(path).parent for path in paths}:
        shutil.rmtree(folder, ignore_errors=True)


def recipe_with_face_references(recipe: dict, paths) -> dict:
    """A copy of `recipe` whose every faces stage takes `paths` as its reference photos."""
    _require_faces_stage(recipe)
    recipe = copy.deepcopy(recipe)
    for stage in recipe["stages"]:
        if stage["stage"] == "faces":
            stage["params"] = {**stage.get("params", {}), "references": [str(path) for path in paths]}
    return recipe


def job_create_with_face_references(*, owner, recipe_name: str, uploads=(), stored=(), item=None, upload=None,
                                    allow_cpu: bool = False, confirm: bool = False,
                                    keep_for_answer: bool = False) -> Job:
    """Queue a job on a gallery item or an uploaded file with a preset whose faces stages get the
    reference photos: new `uploads`, and/or `stored` names from an earlier try (verified to be the
    owner's). Without photos it is the plain preset.

    Photos stored here are removed when the job cannot be made, except with `keep_for_answer` when
    the refusal is a question (launch again anyway? run on a CPU?): then the error's
    extra["face_references"] names them (relative to MEDIA_ROOT) for the form to send back with
    the answer, so that the person need not add them again.
    """
    uploads, stored = list(uploads), [name for name in stored if name]
    if not uploads and not stored:
        return _job_create(owner=owner, item=item, upload=upload, recipe_name=recipe_name, allow_cpu=allow_cpu,
                           confirm=confirm)
    recipe = services.recipe_resolve(recipe_name)
    _require_faces_stage(recipe)  # before anything is stored
    _require_count(len(uploads) + len(stored))
    kept = face_references_owned(owner=owner, names=stored)
    new = face_references_store(owner=owner, uploads=uploads)
    try:
        return _job_create(owner=owner, item=item, upload=upload, allow_cpu=allow_cpu, confirm=confirm,
                           recipe=recipe_with_face_references(recipe, kept + new))
    except ApplicationError as exc:
        if keep_for_answer and (exc.extra.get("confirm_required") or exc.extra.get("field") == "allow_cpu"):
            exc.extra[FIELD] = [str(Path(path).relative_to(settings.MEDIA_ROOT)) for path in kept + new]
        else:
            face_references_discard(new)  # photos from an earlier try may be another job's too: kept
        raise
    except BaseException:
        face_references_discard(new)
        raise


def _job_create(*, owner, item, upload, allow_cpu: bool, confirm: bool, recipe_name: str = "",
                recipe: dict | None = None) -> Job:
    if item is not None:
        return services.job_create_for_item(owner=owner, item=item, recipe_name=recipe_name, recipe=recipe,
                                            allow_cpu=allow_cpu, confirm=confirm)
    return services.job_create_from_upload(owner=owner, upload=upload, recipe_name=recipe_name, recipe=recipe,
                                           allow_cpu=allow_cpu)
