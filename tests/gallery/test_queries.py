"""The gallery's pages and every API read cost a constant number of queries, whatever the amount
of content."""
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gallery import services
from gallery.models import Collection, CollectionItem, Partner
from tests.gallery.factories import make_item, make_version


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def grow(users, count: int):
    """`count` items, each with `count` versions (with votes) and comment threads with replies."""
    partner = Partner.objects.create(slug=f"p{count}", name="Shanghai Daily")
    collection = Collection.objects.create(slug=f"c{count}", title="Old Shanghai", partner=partner, is_published=True)
    items = []
    for i in range(count):
        item = make_item(year=1900 + 10 * i, place="Shanghai")
        CollectionItem.objects.create(collection=collection, item=item, position=i)
        for j in range(count):
            version = make_version(item, users[j % len(users)], is_homework=j % 2 == 0, featured=j == 0)
            services.vote_toggle(user=users[(j + 1) % len(users)], version=version)
            top = services.comment_create(author=users[j % len(users)], item=item, body=f"c{j}", version=version)
            services.comment_create(author=users[(j + 1) % len(users)], item=item, body=f"r{j}", parent=top)
        items.append(item)
    return items


@pytest.mark.parametrize("viewer", ["anonymous", "member", "staff"])
def test_pages_cost_the_same_queries_for_little_and_much_content(client, make_user, media_root, viewer):
    users = [make_user(f"u{i}", is_staff=viewer == "staff" and i == 0) for i in range(3)]
    if viewer != "anonymous":
        client.force_login(users[0])
    small = grow(users, 2)
    counts_small = {
        "home": queries_for(client, "/"),
        "gallery": queries_for(client, "/gallery/"),
        "item": queries_for(client, small[0].get_absolute_url()),
        "collection": queries_for(client, "/collections/c2/"),
    }
    large = grow(users, 6)
    counts_large = {
        "home": queries_for(client, "/"),
        "gallery": queries_for(client, "/gallery/"),
        "item": queries_for(client, large[0].get_absolute_url()),
        "collection": queries_for(client, "/collections/c6/"),
    }
    assert counts_large == counts_small


def grow_every_list(users, count: int, tag: str) -> dict[str, str]:
    """`count` rows in each list the API serves, and the URLs that serve them: items; one item's
    versions (each with votes), comment threads (each with a reply) and collections; one collection's
    items; partners; one partner's collections; open reports (on comments and versions)."""
    partner = Partner.objects.create(slug=f"partner-{tag}", name=f"Partner {tag}")
    items = [make_item(title=f"{tag} {i}") for i in range(count)]
    item = items[0]
    collection = Collection.objects.create(slug=f"all-{tag}", title="All", partner=partner, is_published=True)
    for position, each in enumerate(items):
        CollectionItem.objects.create(collection=collection, item=each, position=position)
    for j in range(count - 1):  # with `collection`: the item's and the partner's `count` collections
        other = Collection.objects.create(slug=f"{tag}-{j}", title=f"C{j}", partner=partner, is_published=True)
        CollectionItem.objects.create(collection=other, item=item)
        Partner.objects.create(slug=f"{tag}-{j}", name=f"P{j}")
    Collection.objects.create(slug=f"draft-{tag}", title="Draft", partner=partner)  # staff see it in the list
    for j in range(count):
        author, other_user = users[j % len(users)], users[(j + 1) % len(users)]
        version = make_version(item, author, is_homework=j % 2 == 0, featured=j == 0)
        for voter in users[:2]:
            services.vote_toggle(user=voter, version=version)
        top = services.comment_create(author=author, item=item, body=f"c{j}", version=version)
        services.comment_create(author=other_user, item=item, body=f"r{j}", parent=top, version=version)
        target = {"comment": top} if j % 2 else {"version": version}
        services.report_create(reporter=other_user, reason="spam", **target)
    return {"items": "/api/items/", "item": f"/api/items/{item.slug}/",
            "item versions": f"/api/items/{item.slug}/versions/", "item comments": f"/api/items/{item.slug}/comments/",
            "collections": "/api/collections/", "collection": f"/api/collections/{collection.slug}/",
            "partners": "/api/partners/", "partner": f"/api/partners/{partner.slug}/", "reports": "/api/reports/"}


# Anonymous: a list = COUNT + the page (collections: + their items); the item = item + versions +
# collections; an item's versions = item + COUNT + page; its comments = item + COUNT + threads +
# replies; a collection = collection + its items; a partner = partner + collections + their items.
# A logged-in viewer adds the session and the user.
API_QUERIES = {"items": 2, "item": 3, "item versions": 3, "item comments": 4, "collections": 3, "collection": 2,
               "partners": 2, "partner": 3, "reports": 2}


@pytest.mark.parametrize("viewer", ["anonymous", "member", "staff"])
def test_every_api_read_costs_the_same_queries_for_3_rows_and_30(make_user, media_root, viewer,
                                                                  django_assert_num_queries):
    users = [make_user(f"u{i}", is_staff=viewer == "staff" and i == 0) for i in range(3)]
    client = Client()
    if viewer != "anonymous":
        client.force_login(users[0])
    session = 0 if viewer == "anonymous" else 2

    def reads(urls):  # the reports are for staff only
        return {name: url for name, url in urls.items() if name != "reports" or viewer == "staff"}

    few = reads(grow_every_list(users, 3, "few"))
    assert {name: queries_for(client, url) for name, url in few.items()} == {
        name: API_QUERIES[name] + session for name in few}

    many = reads(grow_every_list(users, 30, "many"))
    item = client.get(many["item"]).json()
    assert len(item["versions"]) == 30 and len(item["collections"]) == 30
    assert len(client.get(many["collection"]).json()["entries"]) == 30
    assert len(client.get(many["partner"]).json()["collections"]) == 30
    for name in ("items", "item versions", "item comments", "collections", "partners", "reports"):
        if name in many:
            assert len(client.get(many[name]).json()["results"]) == 20, name  # a full page
    for name, url in many.items():
        with django_assert_num_queries(API_QUERIES[name] + session):
            assert client.get(url).status_code == 200
