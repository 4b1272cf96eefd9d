"""The gallery and item pages cost a constant number of queries, whatever the amount of content."""
import pytest
from django.db import connection
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
