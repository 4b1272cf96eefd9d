"""Thin HTML views for the gallery; the rules live in services and selectors."""
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from gallery import selectors, services
from gallery.forms import CommentForm, HomeworkForm, ReportForm
from gallery.models import Comment, Item, Partner, Report, Version
from restoration_site.errors import ApplicationError, NotFound
from restoration_site.media import media_response
from restoration_site.ratelimit import throttled


@require_GET
def home(request):
    return render(request, "gallery/home.html", selectors.home_page(request.user))


@require_GET
def gallery_list(request):
    # A NUL character (which PostgreSQL refuses in text) is never part of a search or a slug.
    params = request.GET.copy()
    for key in params:
        params.setlist(key, [value.replace("\x00", "") for value in params.getlist(key)])
    try:
        decade = int(params["decade"]) if params.get("decade") else None
    except ValueError:
        decade = None
    items = selectors.items_filtered(kind=params.get("kind", ""), decade=decade, place=params.get("place", ""),
                                     collection=params.get("collection", ""),
                                     has_homework=params.get("homework") == "1",
                                     has_restorations=params.get("restored") == "1", q=params.get("q", "").strip())
    page = Paginator(items, selectors.GALLERY_PAGE_SIZE).get_page(params.get("page"))
    query = params.copy()
    query.pop("page", None)
    return render(request, "gallery/list.html", {
        "page": page, "kinds": Item.Kind.choices, "decades": selectors.decades(),
        "collections": selectors.collection_choices(), "filters": params, "query": query.urlencode()})


@require_GET
def item_detail(request, slug):
    context = selectors.item_page(slug=slug, user=request.user, all_comments=request.GET.get("comments") == "all")
    context.update(homework_form=HomeworkForm(), comment_form=CommentForm(),
                   homework_left=services.homework_remaining_today(request.user) if request.user.is_authenticated else 0)
    return render(request, "gallery/item.html", context)


@require_GET
def item_media(request, slug, which):
    item = get_object_or_404(Item, slug=slug)
    # "media" is what a page plays (the browser-playable copy when there is one); "original" the upload.
    field = {"media": item.web_media or item.media, "original": item.media, "poster": item.poster}.get(which)
    if not field:
        raise Http404("No such file.")
    suffix = field.name.rsplit(".", 1)[-1]
    return media_response(request, field.name, download_name=f"{item.slug}-{which}.{suffix}")


@require_GET
def partner_logo(request, slug):
    partner = get_object_or_404(Partner, slug=slug)
    if not partner.logo:
        raise Http404("No logo.")
    suffix = partner.logo.name.rsplit(".", 1)[-1]
    return media_response(request, partner.logo.name, download_name=f"{partner.slug}-logo.{suffix}")


@require_GET
def version_media(request, uid, which):
    version = get_object_or_404(Version.objects.select_related("item"), uid=uid)
    if not selectors.version_shown_to(version, request.user):  # the one rule: hidden ones for staff only
        raise Http404("No such version.")
    field = {"media": version.web_media or version.media, "original": version.media,
             "poster": version.poster}.get(which)
    if not field:
        raise Http404("No such file.")
    suffix = field.name.rsplit(".", 1)[-1]
    return media_response(request, field.name, download_name=f"{version.item.slug}-{version.uid}-{which}.{suffix}")


def _done(request, item, message=None, level=messages.SUCCESS, anchor: str = ""):
    """Back to the item page, at the part the visitor acted on (a long scroll on a phone otherwise)."""
    if message:
        messages.add_message(request, level, message)
    return redirect(item.get_absolute_url() + (f"#{anchor}" if anchor else ""))


def _wants_json(request) -> bool:
    """static/js/upload.js sends uploads with XMLHttpRequest (for its progress bar) and asks for JSON."""
    return request.headers.get("Accept", "").startswith("application/json")


@login_required
@require_POST
@throttled("homework")
def homework_new(request, slug):
    item = get_object_or_404(Item, slug=slug)
    form = HomeworkForm(request.POST, request.FILES)
    error, status = None, 400
    if not form.is_valid():
        error = _("Homework not handed in: %(errors)s") % {
            "errors": " ".join(e for errors in form.errors.values() for e in errors)}
    else:
        try:
            services.homework_hand_in(author=request.user, item=item, upload=form.cleaned_data["file"],
                                      title=form.cleaned_data["title"], description=form.cleaned_data["description"],
                                      licence=form.cleaned_data["licence"], ai_color=form.cleaned_data["ai_color"])
        except ApplicationError as exc:
            error, status = exc.message, exc.status_code
    if _wants_json(request):
        # The script shows the error in the form, keeping what the visitor typed; on success it goes to
        # the page, where the message waits.
        if error:
            return JsonResponse({"message": error, "extra": {"fields": form.errors.get_json_data()}}, status=status)
        messages.success(request, _("Thank you! Your homework is on the page."))
        return JsonResponse({"redirect": item.get_absolute_url() + "#versions"})
    if error:
        return _done(request, item, error, messages.ERROR, anchor="homework")
    return _done(request, item, _("Thank you! Your homework is on the page."))


@login_required
@require_POST
@throttled("comment")
def comment_new(request, slug):
    item = get_object_or_404(Item, slug=slug)
    form = CommentForm(request.POST)
    if not form.is_valid():
        return _done(request, item, " ".join(e for errors in form.errors.values() for e in errors), messages.ERROR,
                     anchor="comments")
    # What the form names must exist (a 404 otherwise); whether this user may see it is the service's rule.
    version = selectors.version_get(uid=form.cleaned_data["version"]) if form.cleaned_data["version"] else None
    parent = selectors.comment_get(comment_id=form.cleaned_data["parent"]) if form.cleaned_data["parent"] else None
    try:
        services.comment_create(author=request.user, item=item, body=form.cleaned_data["body"], version=version,
                                parent=parent, at_seconds=form.cleaned_data["at"])
    except NotFound:
        raise  # a hidden version or comment is a 404 here as on the API (NotFoundMiddleware)
    except ApplicationError as exc:
        return _done(request, item, exc.message, messages.ERROR, anchor="comments")
    return _done(request, item, _("Your reply is posted.") if parent else _("Your comment is posted."),
                 anchor="comments")


@login_required
@require_POST
@throttled("report", only=lambda kwargs: kwargs["action"] == "report")
def comment_action(request, comment_id, action):
    comment = get_object_or_404(Comment.objects.select_related("item"), pk=comment_id)
    try:
        if action == "edit":
            services.comment_edit(user=request.user, comment=comment, body=request.POST.get("body", ""))
        elif action == "delete":
            services.comment_delete(user=request.user, comment=comment)
        elif action in ("hide", "unhide"):
            services.comment_hide(moderator=request.user, comment=comment, hidden=action == "hide")
        elif action == "report":
            form = ReportForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            services.report_create(reporter=request.user, comment=comment, reason=reason)
            messages.info(request, _("Thank you; a moderator will look at it."))
        else:
            raise Http404
    except NotFound:
        raise  # what this user may not see: a 404, as on the API
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise Http404 from None  # do not reveal what a stranger cannot touch
        return _done(request, comment.item, exc.message, messages.ERROR, anchor="comments")
    return _done(request, comment.item, anchor="comments")


@login_required
@require_POST
@throttled("report", only=lambda kwargs: kwargs["action"] == "report")
def version_action(request, uid, action):
    version = get_object_or_404(Version.objects.select_related("item"), uid=uid)
    try:
        if action == "vote":
            services.vote_toggle(user=request.user, version=version)
        elif action in ("feature", "unfeature"):
            services.version_feature(moderator=request.user, version=version, featured=action == "feature")
        elif action in ("hide", "unhide"):
            services.version_hide(moderator=request.user, version=version, hidden=action == "hide")
        elif action == "report":
            form = ReportForm(request.POST)
            services.report_create(reporter=request.user, version=version,
                                   reason=form.cleaned_data["reason"] if form.is_valid() else "")
            messages.info(request, _("Thank you; a moderator will look at it."))
        else:
            raise Http404
    except NotFound:
        raise  # what this user may not see: a 404, as on the API
    except ApplicationError as exc:
        if exc.status_code == 403:
            raise Http404 from None
        return _done(request, version.item, exc.message, messages.ERROR, anchor=f"version-{version.uid}")
    return _done(request, version.item, anchor=f"version-{version.uid}")


@require_GET
def collection_detail(request, slug):
    return render(request, "gallery/collection.html", selectors.collection_page(slug=slug, user=request.user))


@require_GET
def partner_detail(request, slug):
    return render(request, "gallery/partner.html", selectors.partner_page(slug=slug))


@require_GET
def profile(request, username):
    return render(request, "gallery/profile.html", selectors.profile_page(username=username, viewer=request.user))


@staff_member_required
def moderation(request):
    if request.method == "POST":
        report_id = request.POST.get("report", "")
        if not report_id.isascii() or not report_id.isdigit():  # garbage is a 404, as a missing report is
            raise Http404("No such report.")
        report = get_object_or_404(Report, pk=int(report_id))
        try:
            services.report_resolve(moderator=request.user, report=report, hide=request.POST.get("action") == "hide")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        return redirect("moderation")
    return render(request, "gallery/moderation.html", {"reports": selectors.open_reports()})
