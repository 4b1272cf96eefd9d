"""Thin HTML views for jobs; the rules live in services and selectors."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gallery.forms import PublishForm
from gallery.how_made import how_it_was_made
from gallery.models import Item
from gallery.selectors import version_get_visible
from jobs.face_references import services as face_references
from jobs.services import launch, lifecycle
from jobs.services.publish import job_publish as publish_result
from jobs.forms import JobForm, RecipeForm
from jobs.selectors import (job_events, job_get_visible, job_publishable, job_snapshot, jobs_visible_to,
                            queue_overview, user_quota)
from restoration_site.errors import HTTP_INSUFFICIENT_STORAGE, ApplicationError, NotFound
from restoration_site.media import media_response
from restoration_site.ratelimit import throttled


@login_required
@require_GET
def job_list(request):
    jobs = jobs_visible_to(request.user).filter(owner=request.user)[:100]
    return render(request, "jobs/list.html", {"jobs": jobs})


@login_required
@require_http_methods(["GET", "POST"])
@throttled("job_launch")
def job_new(request):
    form = JobForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            given = form.cleaned_data
            try:
                job = face_references.job_create_with_face_references(
                    owner=request.user, upload=given["file"], recipe_name=given["recipe"],
                    uploads=given["face_references"], allow_cpu=given["allow_cpu"])
                return redirect("jobs:detail", job_id=job.id)
            except ApplicationError as exc:
                field = exc.extra.get("field")
                form.add_error(field if field in ("allow_cpu", "face_references") else "file", exc.message)
                if exc.status_code == HTTP_INSUFFICIENT_STORAGE:  # the server's fault, not the form's
                    status = exc.status_code
        status = status if status != 200 else 400
    return render(request, "jobs/new.html", {"form": form, "quota": user_quota(request.user)}, status=status)


def _posted_flag(request, name: str) -> bool:
    return request.POST.get(name, "") not in ("", "0", "false", "False")


@login_required
@require_POST
@throttled("job_launch")
def job_new_for_item(request, item_id: int):
    item = get_object_or_404(Item, pk=item_id)
    from_version = request.POST.get("from_version")
    # "Restore again": a visible version of this item (garbage or another item's is a 404).
    version = version_get_visible(uid=from_version) if from_version else None
    if version is not None and version.item_id != item.pk:
        raise NotFound(_("No such version."))
    form = RecipeForm(request.POST, request.FILES)
    if version is None and not form.is_valid():
        messages.error(request, " ".join(form.errors.get("face_references", [])) or _("Choose a recipe."))
        return redirect(item)
    flags = {"allow_cpu": _posted_flag(request, "allow_cpu"), "confirm": _posted_flag(request, "confirm")}
    try:
        if version is not None:  # "restore again" with the exact recipe that made a version
            job = launch.job_create_from_version(owner=request.user, version=version, **flags)
            if launch.version_pictures_withheld(version=version, owner=request.user):
                messages.info(request, _("The pictures this version's author gave (reference photos of the people, "
                                         "colour references) are theirs and are not shared: your job runs the same "
                                         "recipe without them. To give your own, use “Restore this” or Colorize."))
        else:
            # Photos stored by this try stay stored if a question is asked, to be sent back with the answer.
            job = face_references.job_create_with_face_references(
                owner=request.user, item=item, recipe_name=form.cleaned_data["recipe"],
                uploads=form.cleaned_data["face_references"], stored=form.cleaned_data["face_references_stored"],
                keep_for_answer=True, **flags)
    except ApplicationError as exc:
        if exc.extra.get("confirm_required") or exc.extra.get("field") == "allow_cpu":
            # A question, not a dead end: the same launch again, with the answer as a button.
            return render(request, "jobs/confirm.html", {
                "item": item, "message": exc.message, "posted": request.POST, "flags": flags,
                "running_job": exc.extra.get("job"), "asks_cpu": exc.extra.get("field") == "allow_cpu",
                "face_references": exc.extra.get("face_references", []),
            }, status=exc.status_code)
        messages.error(request, exc.message)
        return redirect(item)
    return redirect("jobs:detail", job_id=job.id)


def _page_labels() -> dict:
    """Words the job page's script shows, in the request's language."""
    return {
        "frame": _("frame"), "eta": _("about %s left"), "fps": _("frames/s"), "live": _("live"),
        "reconnecting": _("reconnecting…"), "forbidden": _("You cannot watch this job."),
        "finish": _("Writing the file and its audio"),
        "encode": _("Encoding the video"), "starting": _("Starting…"),
        "cancelling": _("Stopping…"), "queued_note": _("Waiting for a worker"),
        "position": _("number %s in the queue"),
        "queue_eta": _("done in about %s (an estimate from measured speed)"),
        "queue_eta_guess": _("done in about %s (a rough guess: nothing like it has been measured yet)"),
        "slower_on_cpu": _("runs on a CPU: much slower than on a GPU"),
        "notify_succeeded": _("Your restoration is ready"), "notify_failed": _("Your restoration job failed"),
        "notify_cancelled": _("Your restoration job was cancelled"),
    }


def _outcome_context(job) -> dict:
    """What the end of a job shows: its result, how it was made, run again, publish."""
    return {"job": job, "how": how_it_was_made(job.recipe),
            "publish_form": PublishForm() if job_publishable(job) else None}


@login_required
@require_GET
def job_detail(request, job_id):
    job = job_get_visible(user=request.user, job_id=job_id)
    return render(request, "jobs/detail.html", {**_outcome_context(job), "snapshot": job_snapshot(job),
                                                "labels": _page_labels(), "events": job_events(job),
                                                "assets": job.assets.all()})


@login_required
@require_GET
def job_outcome(request, job_id):
    """The job page's end part alone, for the page's script when the job ends while it is open."""
    job = job_get_visible(user=request.user, job_id=job_id)
    return render(request, "jobs/_outcome.html", _outcome_context(job))


@login_required
@require_GET
def queue_page(request):
    """Staff only: queues, workers and what they can run, jobs per state, throughput, failures."""
    if not request.user.is_staff:
        raise PermissionDenied
    return render(request, "jobs/queue.html", queue_overview())


@login_required
@require_POST
def job_retry(request, job_id):
    job = job_get_visible(user=request.user, job_id=job_id)
    try:
        again = launch.job_retry(job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("jobs:detail", job_id=job.id)
    return redirect("jobs:detail", job_id=again.id)


@login_required
@require_POST
def job_cancel(request, job_id):
    job = job_get_visible(user=request.user, job_id=job_id)
    if request.POST.get("confirm") != "1":
        # Asked first: site.js asks in a dialog (data-confirm) and adds confirm=1; without JS, this page asks.
        return render(request, "jobs/cancel_confirm.html", {"job": job})
    try:
        lifecycle.job_cancel(job=job)
        messages.info(request, _("Cancel requested."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("jobs:detail", job_id=job.id)


@login_required
@require_POST
def job_publish(request, job_id):
    job = job_get_visible(user=request.user, job_id=job_id)
    form = PublishForm(request.POST)
    try:
        if not form.is_valid():
            raise ApplicationError(_("Choose a licence."))
        version = publish_result(user=request.user, job=job, title=form.cleaned_data["title"],
                                           licence=form.cleaned_data["licence"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("jobs:detail", job_id=job.id)
    messages.success(request, _("Published on the item's page."))
    return redirect(version.get_absolute_url())


# A job's files are its owner's (and staff's): job_get_visible is a 404 for anyone else, before any
# file is looked at; an anonymous visitor is sent to log in.

def _private_file(request, name: str, download_name: str, as_attachment: bool = False):
    response = media_response(request, name, download_name=download_name, as_attachment=as_attachment)
    patch_cache_control(response, private=True)  # never kept by a shared cache
    return response


def _suffix(name: str) -> str:
    return name.rsplit(".", 1)[-1]


@login_required
@require_GET
def job_result(request, job_id):
    job = job_get_visible(user=request.user, job_id=job_id)
    if not job.result:
        raise Http404(_("This job has no result yet."))
    return _private_file(request, job.result.name, f"restored-{job.id}.{_suffix(job.result.name)}",
                         as_attachment=request.GET.get("download") == "1")


@login_required
@require_GET
def job_source(request, job_id):
    job = job_get_visible(user=request.user, job_id=job_id)
    return _private_file(request, job.source.name, f"source-{job.id}.{_suffix(job.source.name)}")


@login_required
@require_GET
def job_asset(request, job_id, asset_id):
    """A picture given with the job: a reference photo, a scribble, a keyframe."""
    job = job_get_visible(user=request.user, job_id=job_id)
    asset = get_object_or_404(job.assets, pk=asset_id)
    return _private_file(request, asset.file.name, f"{asset.role}-{asset.id}.{_suffix(asset.file.name)}")
