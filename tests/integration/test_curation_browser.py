"""Curators and restorers in a real browser: staff build a collection with a partner in the admin;
a member restores an item, watches the job and publishes the result as a version."""

import pytest

from tests.integration.browser import DESKTOP, needs_chromium, open_page

pytestmark = needs_chromium

FILM = "demo-astronaut-film"


@pytest.fixture
def people(site):
    """Demo items and the people, made before the browser starts (Playwright's loop blocks the ORM)."""
    from gallery.demo import seed_demo_items

    seed_demo_items(with_versions=False)
    site.make_user("editor", is_staff=True, is_superuser=True)
    site.make_user("member")


@pytest.fixture
def page():
    with open_page(**DESKTOP) as page:
        yield page


def log_in(page, site, username):
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-integration-1")
    page.click("main button[type=submit]")


def test_staff_build_a_collection_with_a_partner(site, people, page):
    page.goto(f"{site.url}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pw-for-integration-1")
    page.click("input[type=submit]")

    page.goto(f"{site.url}/admin/gallery/partner/add/")
    page.fill("#id_name", "Shanghai Evening News")
    page.fill("#id_name_zh", "新民晚报")
    page.fill("#id_url", "https://example.org/news")
    page.click("input[name=_save]")
    assert "was added successfully" in page.text_content(".messagelist")

    page.goto(f"{site.url}/admin/gallery/collection/add/")
    page.fill("#id_title", "Old Shanghai street life")
    page.select_option("#id_partner", label="Shanghai Evening News")
    page.check("#id_is_published")
    page.click("#entries-0 .select2-selection")  # the item picker searches as you type
    page.fill(".select2-search__field", "astronaut")
    page.click(".select2-results__option:has-text('astronaut')")
    page.fill("#id_entries-0-position", "1")
    page.click("input[name=_save]")
    assert "was added successfully" in page.text_content(".messagelist")

    page.goto(f"{site.url}/collections/old-shanghai-street-life/")
    assert "Old Shanghai street life" in page.text_content("main")
    assert "Shanghai Evening News" in page.text_content("main")
    assert "Portrait of an astronaut" in page.text_content("main")
    page.click("text=Shanghai Evening News")
    assert page.url.endswith("/partners/shanghai-evening-news/")
    assert "Old Shanghai street life" in page.text_content("main")


def test_restore_an_item_watch_the_job_and_publish_it(site, people, page):
    log_in(page, site, "member")
    page.goto(f"{site.url}/items/{FILM}/")
    page.select_option("#restore select[name=recipe]", "film-light")
    page.click("#restore button[type=submit]")
    page.wait_for_url("**/jobs/*-*/")
    page.wait_for_selector("#job-result-media", timeout=180_000)
    assert page.text_content("#job-state") == "Succeeded"

    page.fill("#id_title", "Steadied by the site")
    page.click("#job-publish button[type=submit]")
    page.wait_for_url(f"**/items/{FILM}/#version-*")
    version = page.locator("#versions article.version").filter(has_text="Steadied by the site")
    assert version.count() == 1
    assert "deflicker" in version.text_content()  # how it was made is on the page
    assert page.locator("#compare-right-select option").count() >= 1
