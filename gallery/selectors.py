"""Reads for the gallery pages and API, with the visibility rules in one place: hidden versions and
draft collections are for staff only. Each read is a fixed number of queries, whatever the number
of items, versions and comments (tests assert it). A row that does not exist, or that the user may
not see, raises NotFound: a 404 for the API and for the pages alike."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import (BooleanField, Count, Exists, IntegerField, Max, OuterRef, Prefetch, Q, QuerySet,
                              Subquery, Value)
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from gallery.models import Collection, CollectionItem, Comment, Item, Licence, Partner, Report, Version, Vote
from restoration_site.errors import NotFound

GALLERY_PAGE_SIZE = 24


def _one(queryset: QuerySet, message: str, **lookup):
    """The row of `queryset` that matches `lookup`, or NotFound(message)."""
    if any(isinstance(value, str) and "\x00" in value for value in lookup.values()):
        raise NotFound(message)  # PostgreSQL refuses NUL in text with a DataError: no row has one
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, DjangoValidationError):  # absent, or not an id at all
        raise NotFound(message) from None


# --- who sees what ---------------------------------------------------------------------------
# The one rule for what a user may see, and so comment on, reply to, report or vote for: the API,
# the HTML views and the services all ask these (a service refuses with NotFound what they deny).


def version_shown_to(version: Version, user) -> bool:
    """A hidden version is for staff only."""
    return not version.is_hidden or bool(user is not None and user.is_staff)


def comment_shown_to(comment: Comment, user) -> bool:
    """A deleted comment is for nobody; a hidden one for staff only."""
    if comment.is_deleted:
        return False
    return not comment.is_hidden or bool(user is not None and user.is_staff)


def version_require_shown(version: Version, user) -> Version:
    if not version_shown_to(version, user):
        raise NotFound(_("No such version."))
    return version


def comment_require_shown(comment: Comment, user) -> Comment:
    if not comment_shown_to(comment, user):
        raise NotFound(_("No such comment."))
    return comment


# --- versions ---------------------------------------------------------------------------------


def versions_visible(user=None, *, include_hidden: bool = False) -> QuerySet[Version]:
    """Versions with their vote count and whether `user` voted; hidden ones only with `include_hidden`
    (staff on the item page)."""
    versions = Version.objects.all() if include_hidden else Version.objects.filter(is_hidden=False)
    versions = (versions.select_related("author", "item", "parent")
                .annotate(vote_count=Count("votes", distinct=True)))
    if user is not None and user.is_authenticated:
        return versions.annotate(voted=Exists(Vote.objects.filter(version=OuterRef("pk"), user=user)))
    return versions.annotate(voted=Value(False, output_field=BooleanField()))


def version_get_visible(*, uid, user=None) -> Version:
    """One version, with `vote_count` and `voted` for `user`. A hidden one is NotFound except for
    staff; without a user, for everyone (a version a request names as a parent, a comment's
    subject or a report's target)."""
    include_hidden = user is not None and user.is_staff
    return _one(versions_visible(user, include_hidden=include_hidden), _("No such version."), uid=uid)


def version_get(*, uid) -> Version:
    """One version, hidden or not (what a request names; the caller applies version_shown_to)."""
    return _one(Version.objects.select_related("author", "item"), _("No such version."), uid=uid)


def item_versions(*, item: Item, user) -> QuerySet[Version]:
    """The item's versions, featured first, newest first; staff also get hidden ones (marked
    `is_hidden`), as on the item page."""
    return (versions_visible(user, include_hidden=user.is_staff).filter(item=item)
            .order_by("-featured", "-created_at", "id"))


# --- items ------------------------------------------------------------------------------------


def _restorations_of_item():
    """The visible versions of the outer item: restorations published from jobs and homework."""
    return Version.objects.filter(item=OuterRef("pk"), is_hidden=False)


def _homework_of_item():
    return _restorations_of_item().filter(is_homework=True)


def _count_of(versions) -> Coalesce:
    return Coalesce(Subquery(versions.order_by().values("item").annotate(n=Count("pk")).values("n"),
                             output_field=IntegerField()), 0)


def items_filtered(*, kind: str = "", decade: int | None = None, place: str = "", collection: str = "",
                   has_homework: bool = False, has_restorations: bool = False, q: str = "") -> QuerySet[Item]:
    """Items for the gallery grid, newest first, with their counts of visible restorations (published
    from jobs, and homework) and of homework alone.

    The counts are correlated subqueries, not a join with GROUP BY: the paginator's COUNT and each
    page then cost the same whatever the number of items and versions.
    """
    items = Item.objects.annotate(restoration_count=_count_of(_restorations_of_item()),
                                  homework_count=_count_of(_homework_of_item()))
    if kind:
        items = items.filter(kind=kind)
    if decade is not None:
        items = items.filter(year__gte=decade, year__lt=decade + 10)
    if place:
        items = items.filter(place__icontains=place)
    if collection:
        items = items.filter(Exists(CollectionItem.objects.filter(
            item=OuterRef("pk"), collection__slug=collection, collection__is_published=True)))
    if has_homework:
        items = items.filter(Exists(_homework_of_item()))
    if has_restorations:
        items = items.filter(Exists(_restorations_of_item()))
    if q:
        items = items.filter(Q(title__icontains=q) | Q(title_zh__icontains=q) | Q(title_en__icontains=q)
                             | Q(description__icontains=q) | Q(description_zh__icontains=q) | Q(place__icontains=q)
                             | Q(creator__icontains=q) | Q(tags__icontains=q))
    return items.order_by("-created_at", "-id")


def decades() -> list[int]:
    years = Item.objects.exclude(year=None).order_by().values_list("year", flat=True).distinct()
    return sorted({year // 10 * 10 for year in years})


def item_get(*, slug: str) -> Item:
    return _one(Item.objects.all(), _("No such item."), slug=slug)


def item_detail(*, slug: str, user) -> Item:
    """The item, with `versions_visible` (item_versions) and `collections_published` attached: 3 queries."""
    item = item_get(slug=slug)
    item.versions_visible = list(item_versions(item=item, user=user))
    item.collections_published = list(item.collections.filter(is_published=True).select_related("partner"))
    return item


# --- comments ---------------------------------------------------------------------------------


def comment_get(*, comment_id: int) -> Comment:
    """One comment, with its author, the version it is about and the comment it answers."""
    return _one(Comment.objects.select_related("author", "version", "parent"), _("No such comment."), pk=comment_id)


def comment_threads(*, item: Item) -> QuerySet[Comment]:
    """The item's top-level comments, oldest first, each with its replies (one level) prefetched."""
    replies = Comment.objects.select_related("author", "version").order_by("created_at", "id")
    return (Comment.objects.filter(item=item, parent=None).select_related("author", "version")
            .prefetch_related(Prefetch("replies", queryset=replies)).order_by("created_at", "id"))


# --- collections and partners -----------------------------------------------------------------


def _collections_shown_to(user) -> QuerySet[Collection]:
    """Every collection for staff; the published ones for everyone else (drafts are for staff only)."""
    return Collection.objects.all() if user.is_staff else Collection.objects.filter(is_published=True)


def _with_partner_and_entries(collections: QuerySet[Collection]) -> QuerySet[Collection]:
    entries = CollectionItem.objects.select_related("item").order_by("position", "id")
    return collections.select_related("partner").prefetch_related(Prefetch("entries", queryset=entries))


def published_collections() -> QuerySet[Collection]:
    """Published collections, each with its partner and its items in order."""
    return _with_partner_and_entries(Collection.objects.filter(is_published=True))


def collections_visible(*, user) -> QuerySet[Collection]:
    """Published collections (staff also get drafts), each with its partner and its items in order."""
    return _with_partner_and_entries(_collections_shown_to(user))


def collection_get_visible(*, slug: str, user) -> Collection:
    return _one(collections_visible(user=user), _("No such collection."), slug=slug)


def collection_choices() -> QuerySet[Collection]:
    """Published collections for a filter's select: slugs and titles only."""
    return Collection.objects.filter(is_published=True).only("slug", "title", "title_zh").order_by("title")


def partners_by_name() -> QuerySet[Partner]:
    return Partner.objects.order_by("name", "id")


def partner_get(*, slug: str) -> Partner:
    return _one(Partner.objects.all(), _("No such partner."), slug=slug)


def partner_detail(*, slug: str) -> Partner:
    """The partner, with `collections_published` (published_collections) attached: 3 queries."""
    partner = partner_get(slug=slug)
    partner.collections_published = list(published_collections().filter(partner=partner))
    return partner


# --- reports ----------------------------------------------------------------------------------


def _reports_with_targets() -> QuerySet[Report]:
    return Report.objects.select_related("reporter", "comment__author", "comment__item", "version__author",
                                         "version__item")


def open_reports() -> QuerySet[Report]:
    """Reports no moderator has resolved yet, oldest first, with what they point at."""
    return _reports_with_targets().filter(resolved_at=None)


def report_get(*, report_id: int) -> Report:
    return _one(_reports_with_targets(), _("No such report."), pk=report_id)


# --- the HTML pages' reads --------------------------------------------------------------------


def home_page(user) -> dict:
    return {
        "featured": list(versions_visible(user).filter(featured=True)[:6]),
        "latest_homework": list(versions_visible(user).filter(is_homework=True)[:8]),
        "collections": list(published_collections()[:6]),
        "items": list(items_filtered()[:12]),
    }


COMMENT_THREADS_SHOWN = 30


def item_page(*, slug: str, user, all_comments: bool = False) -> dict:
    """The item, its versions (with votes; hidden ones only for staff, marked), its comment threads
    and its collections.

    `threads` is a lazy queryset: the page renders it only when its cached HTML is stale (see
    `comments_stamp`). Only the newest COMMENT_THREADS_SHOWN threads unless `all_comments`: a long
    discussion would otherwise make every visit render all of it.
    """
    item = _one(Item.objects.select_related("uploader"), _("No such item."), slug=slug)
    versions = (versions_visible(user, include_hidden=user.is_staff).filter(item=item)
                .select_related(None).select_related("author", "parent")
                .order_by("is_hidden", "-featured", "-created_at"))
    versions = list(versions)
    licence_names = {value: str(label) for value, label in Licence.choices}  # translated once, not per version
    for version in versions:
        version.item = item  # the page's item, not one more copy of its row per version
        version.licence_name = licence_names.get(version.licence, version.licence)

    comments = Comment.objects.filter(item=item).aggregate(
        thread_count=Count("pk", filter=Q(parent=None)), total=Count("pk"), last_change=Max("changed_at"))
    last_change = comments["last_change"].timestamp() if comments["last_change"] else 0
    replies = Comment.objects.select_related("author").order_by("created_at", "id")
    all_threads = Comment.objects.filter(item=item, parent=None)
    shown = all_threads if all_comments else all_threads.filter(
        pk__in=all_threads.order_by("-created_at", "-id").values("pk")[:COMMENT_THREADS_SHOWN])
    threads = (shown.select_related("author", "version").prefetch_related(Prefetch("replies", queryset=replies))
               .order_by("created_at", "id"))

    collections = list(item.collections.filter(is_published=True).select_related("partner"))
    thread_count = comments["thread_count"]
    # A comment names the version it is about only when the viewer may see that version.
    shown_version_ids = frozenset(version.pk for version in versions)
    return {"item": item, "versions": versions, "threads": threads, "collections": collections,
            "shown_version_ids": shown_version_ids,
            "thread_count": thread_count, "all_comments": all_comments,
            "threads_shown": thread_count if all_comments else min(thread_count, COMMENT_THREADS_SHOWN),
            # Changes whenever a comment of the item is written, edited, hidden or deleted, or a
            # version is hidden or shown again.
            "comments_stamp": f"{comments['total']}-{last_change}-{','.join(map(str, sorted(shown_version_ids)))}"}


def collection_page(*, slug: str, user) -> dict:
    collections = _collections_shown_to(user).select_related("partner", "curator")
    collection = _one(collections, _("No such collection."), slug=slug)
    entries = list(collection.entries.select_related("item").order_by("position", "id"))
    return {"collection": collection, "entries": entries}


def partner_page(*, slug: str) -> dict:
    partner = partner_detail(slug=slug)
    return {"partner": partner, "collections": partner.collections_published}


def profile_page(*, username: str, viewer) -> dict:
    person = _one(get_user_model().objects.filter(is_active=True), _("No such person."), username=username)
    versions = list(versions_visible(viewer).filter(author=person))
    jobs = []
    if viewer.is_authenticated and (viewer.pk == person.pk or viewer.is_staff):
        jobs = list(person.jobs.select_related("item")[:50])
    return {"person": person, "versions": versions, "jobs": jobs}
