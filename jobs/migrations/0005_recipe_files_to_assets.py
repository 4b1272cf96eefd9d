"""Recipes stored before job assets existed named their files by absolute path (reference photos in
faces stages; scribbles, keyframes and color references in colorize stages). Each such file under
MEDIA_ROOT becomes an asset of its job, by its storage name (the file stays where it is), and the
paths leave every stored recipe, of jobs and of published versions alike."""
from pathlib import Path

from django.conf import settings
from django.db import migrations

FILE_PARAMS = {"faces": ("references",), "colorize": ("scribbles", "reference_frames", "reference_images")}
ROLE = {"references": "face_reference", "scribbles": "scribble", "reference_frames": "keyframe",
        "reference_images": "color_reference"}


def _storage_name(path) -> str | None:
    """The name under MEDIA_ROOT of a stored file, or None for anything else."""
    if not isinstance(path, str):
        return None
    media = Path(settings.MEDIA_ROOT).resolve()
    resolved = Path(path).resolve()
    if not resolved.is_relative_to(media) or not resolved.is_file():
        return None
    return str(resolved.relative_to(media))


def _file_params(recipe):
    """(param name, entry) for each file a stored recipe names, and the recipe without them."""
    found = []
    for stage in recipe.get("stages", []) if isinstance(recipe, dict) else []:
        params = stage.get("params") if isinstance(stage, dict) else None
        if not isinstance(params, dict):
            continue
        for name in FILE_PARAMS.get(stage.get("stage"), ()):
            entries = params.pop(name, None) or []
            found += [(name, entry) for entry in (entries if isinstance(entries, list) else [entries])]
    return found


def forwards(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    JobAsset = apps.get_model("jobs", "JobAsset")
    Version = apps.get_model("gallery", "Version")
    for job in Job.objects.all().iterator():
        files = _file_params(job.recipe)
        if not files:
            continue
        positions = {}
        for name, entry in files:
            path, frame = (entry.get("image"), entry.get("frame")) if isinstance(entry, dict) else (entry, None)
            stored = _storage_name(path)
            if stored is None:
                continue
            position = positions[name] = positions.get(name, -1) + 1
            JobAsset.objects.create(owner_id=job.owner_id, job=job, role=ROLE[name], file=stored,
                                    frame=frame if isinstance(frame, int) else None, position=position)
        job.save(update_fields=["recipe"])
    for version in Version.objects.all().iterator():
        if _file_params(version.recipe):
            version.save(update_fields=["recipe"])


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0004_job_assets"),
        ("gallery", "0005_comment_changed_at"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
