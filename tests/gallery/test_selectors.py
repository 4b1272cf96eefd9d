"""The gallery's reads keep their visibility rules, and a missing row is NotFound (an
ApplicationError the API and the pages both answer with a 404), never Django's Http404."""
import pytest

from gallery import selectors
from gallery.models import Collection
from restoration_site.errors import ApplicationError, NotFound
from tests.gallery.factories import make_item, make_version


@pytest.fixture
def staff(make_user):
    return make_user("curator", is_staff=True)


def test_a_missing_row_is_not_found_with_a_message(db):
    for read, message in ((lambda: selectors.item_get(slug="nope"), "No such item."),
                          (lambda: selectors.comment_get(comment_id=999), "No such comment."),
                          (lambda: selectors.partner_detail(slug="nope"), "No such partner."),
                          (lambda: selectors.report_get(report_id=999), "No such report.")):
        with pytest.raises(NotFound) as raised:
            read()
        assert isinstance(raised.value, ApplicationError)
        assert (raised.value.status_code, raised.value.message) == (404, message)


def test_a_hidden_version_is_found_by_staff_only(owner, stranger, staff, media_root):
    hidden = make_version(make_item(), owner, is_hidden=True)
    for user in (None, stranger, owner):  # its author too
        with pytest.raises(NotFound):
            selectors.version_get_visible(uid=hidden.uid, user=user)
    found = selectors.version_get_visible(uid=hidden.uid, user=staff)
    assert found == hidden and found.vote_count == 0 and found.voted is False


def test_a_draft_collection_is_found_by_staff_only(db, stranger, staff):
    Collection.objects.create(slug="draft", title="Draft")
    with pytest.raises(NotFound):
        selectors.collection_get_visible(slug="draft", user=stranger)
    assert selectors.collection_get_visible(slug="draft", user=staff).slug == "draft"
    assert [c.slug for c in selectors.collections_visible(user=stranger)] == []
