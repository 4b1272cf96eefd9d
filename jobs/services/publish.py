"""Publishing a finished job's result as a version of its gallery item."""
from __future__ import annotations

from django.utils.translation import gettext as _

from engine.errors import UnsupportedMedia
from engine.io import probe
from engine.recipes import recipe_makes_color
from gallery.models import Licence, Version
from gallery.services import version_create_from_file
from jobs.models import Job, JobState
from restoration_site.errors import ApplicationError
from restoration_site.media import media_local_file


def job_publish(*, user, job: Job, title: str = "", licence: str = Licence.CC_BY) -> Version:
    """Publish a succeeded job's result as a version of its item, recording exactly how it was made."""
    if job.owner_id != user.pk and not user.is_staff:
        raise ApplicationError(_("Only the job's owner can publish it."), status_code=403)
    if job.state != JobState.SUCCEEDED or not job.result:
        raise ApplicationError(_("Only a finished job can be published."), status_code=409)
    if job.item is None:
        raise ApplicationError(_("This job was not made from a gallery item."))
    if Version.objects.filter(job=job).exists():
        raise ApplicationError(_("This job is already published."), status_code=409)
    # A stage that makes color says so; the engine also records in the provenance whether one did.
    ai_color = recipe_makes_color(job.recipe) or bool(job.recipe.get("provenance", {}).get("ai_color"))
    try:
        result = media_local_file(job.result.name)  # the stored file itself, or a copy cached from S3
        info = probe(result)
    except (FileNotFoundError, UnsupportedMedia):
        raise ApplicationError(_("The job's result file is missing or damaged."), status_code=409) from None
    # The restorer is the job's owner, also when staff publish it for them.
    return version_create_from_file(item=job.item, author=job.owner, job=job, path=result,
                                    media_info=info.as_dict(), recipe=job.recipe, ai_color=ai_color,
                                    title=title or job.recipe.get("name", ""), licence=licence)
