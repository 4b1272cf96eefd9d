"""The Colorize page: pick a frame, draw color on it, preview, launch. The page's script
(static/js/scribble.js) talks to the API in jobs/colorize/api.py. Routed under /jobs/colorize/
by jobs/colorize/urls.py (names in the `jobs` namespace)."""
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from engine.stages.colorize import DEFAULT_SATURATION, MODELS
from jobs.colorize import services
from restoration_site.errors import ApplicationError


def _source_from_query(request) -> services.ColorSource:
    item_id, job_id = request.GET.get("item") or None, request.GET.get("job") or None
    if item_id is not None and not item_id.isdigit():
        raise ApplicationError(_("Choose an item or one of your files to colorize."))
    return services.color_source_get(user=request.user, item_id=item_id, job_id=job_id)


def _error(exc: ApplicationError) -> HttpResponse:
    return HttpResponse(exc.message, status=exc.status_code, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
def colorize_page(request):
    if not request.GET.get("item") and not request.GET.get("job"):
        # No file chosen yet: the user's uploads to pick from, or the gallery.
        return render(request, "jobs/colorize.html", {"uploads": services.colorizable_uploads(request.user)})
    try:
        source = _source_from_query(request)
    except ApplicationError as exc:
        return _error(exc)
    return render(request, "jobs/colorize.html", {
        "source": source, "last_frame": source.frame_count - 1, "models": MODELS,
        "default_saturation": DEFAULT_SATURATION, "base_recipes": services.base_recipe_names(),
    })


@login_required
@require_GET
def colorize_frame(request):
    """Frame ?frame=N of the item's or the user's job's file, as JPEG at the preview's size."""
    try:
        source = _source_from_query(request)
        jpeg = services.frame_jpeg(source, int(request.GET.get("frame", "0")))
    except ValueError:
        return HttpResponseBadRequest(_("The frame must be a number."))
    except ApplicationError as exc:
        return _error(exc)
    return HttpResponse(jpeg, content_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

