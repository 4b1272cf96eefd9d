"""Reads for the gallery pages and API. Each page's reads are a fixed number of queries,
whatever the number of items, versions and comments (tests assert it)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import (BooleanField, Count, Exists, IntegerField, Max, OuterRef, Prefetch, Q, QuerySet,
                              Subquery, Value)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404

from gallery.models import Collection, CollectionItem, Comment, Item, Licence, Partner, Report, Version, Vote

GALLERY_PAGE_SIZE = 24


def _visible_versions(user=None, include_hidden: bool = False) -> QuerySet[Version]:
    """Versions with their vote count and whether `user` voted; hidden ones only with `include_hidden`
    (staff on the item page)."""
    versions = Version.objects.all() if include_hidden else Version.objects.filter(is_hidden=False)
    versions = (versions.select_related("author", "item", "parent")
                .annotate(vote_count=Count("votes", distinct=True)))
    if user is not None and user.is_authenticated:
        return versions.annotate(voted=Exists(Vote.objects.filter(version=OuterRef("pk"), user=user)))
    return versions.annotate(voted=Value(False, output_field=BooleanField()))


def _homework_of_item():
    return Version.objects.filter(item=OuterRef("pk"), is_homework=True, is_hidden=False)


def items_filtered(*, kind: str = "", decade: int | None = None, place: str = "", collection: str = "",
                   has_homework: bool = False, q: str = "") -> QuerySet[Item]:
    """Items for the gallery grid, newest first, with their count of visible homework.

    The count is a correlated subquery, not a join with GROUP BY: the paginator's COUNT and each
    page then cost the same whatever the number of items and versions.
    """
    homework_count = (_homework_of_item().order_by().values("item").annotate(n=Count("pk")).values("n"))
    items = Item.objects.annotate(homework_count=Coalesce(Subquery(homework_count, output_field=IntegerField()), 0))
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
    if q:
        items = items.filter(Q(title__icontains=q) | Q(title_zh__icontains=q) | Q(title_en__icontains=q)
                             | Q(description__icontains=q) | Q(description_zh__icontains=q) | Q(place__icontains=q)
                             | Q(creator__icontains=q) | Q(tags__icontains=q))
    return items.order_by("-created_at", "-id")


def decades() -> list[int]:
    years = Item.objects.exclude(year=None).order_by().values_list("year", flat=True).distinct()
    return sorted({year // 10 * 10 for year in years})


def published_collections() -> QuerySet[Collection]:
    first_items = CollectionItem.objects.select_related("item").order_by("position", "id")
    return (Collection.objects.filter(is_published=True).select_related("partner")
            .prefetch_related(Prefetch("entries", queryset=first_items)))


def collection_choices() -> QuerySet[Collection]:
    """Published collections for a filter's select: slugs and titles only."""
    return Collection.objects.filter(is_published=True).only("slug", "title", "title_zh").order_by("title")


def home_page(user) -> dict:
    return {
        "featured": list(_visible_versions(user).filter(featured=True)[:6]),
        "latest_homework": list(_visible_versions(user).filter(is_homework=True)[:8]),
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
    item = get_object_or_404(Item.objects.select_related("uploader"), slug=slug)
    versions = (_visible_versions(user, include_hidden=user.is_staff).filter(item=item)
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
    return {"item": item, "versions": versions, "threads": threads, "collections": collections,
            "thread_count": thread_count, "all_comments": all_comments,
            "threads_shown": thread_count if all_comments else min(thread_count, COMMENT_THREADS_SHOWN),
            # Changes whenever a comment of the item is written, edited, hidden or deleted.
            "comments_stamp": f"{comments['total']}-{last_change}"}


def collection_page(*, slug: str, user) -> dict:
    collections = Collection.objects.select_related("partner", "curator")
    if not user.is_staff:
        collections = collections.filter(is_published=True)  # drafts are for staff only
    collection = get_object_or_404(collections, slug=slug)
    entries = list(collection.entries.select_related("item").order_by("position", "id"))
    return {"collection": collection, "entries": entries}


def partner_page(*, slug: str) -> dict:
    partner = get_object_or_404(Partner, slug=slug)
    return {"partner": partner, "collections": list(published_collections().filter(partner=partner))}


def profile_page(*, username: str, viewer) -> dict:
    person = get_object_or_404(get_user_model(), username=username, is_active=True)
    versions = list(_visible_versions(viewer).filter(author=person))
    jobs = []
    if viewer.is_authenticated and (viewer.pk == person.pk or viewer.is_staff):
        jobs = list(person.jobs.select_related("item")[:50])
    return {"person": person, "versions": versions, "jobs": jobs}


def open_reports() -> QuerySet[Report]:
    return (Report.objects.filter(resolved_at=None)
            .select_related("reporter", "comment__author", "comment__item", "version__author", "version__item"))
