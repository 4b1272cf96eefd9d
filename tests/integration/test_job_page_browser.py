"""The job page stays live to the end (issue 12): when the job ends while the page is open, its
result, "How it was made", "Run it again" and "Publish" appear without a reload, the tab's title
says so, and a browser notification is shown once the user allowed them. Phone and desktop."""

import pytest

from tests.integration.browser import DESKTOP, PHONE, needs_chromium, open_page

pytestmark = needs_chromium

FILM = "demo-astronaut-film"

# The browser's Notification, recorded: "default" until the page asks and the user says yes.
NOTIFICATION_SPY = """
window.__notifications = [];
window.Notification = function (title, options) {
  window.__notifications.push({title: title, body: (options || {}).body});
  this.close = function () {};
};
window.Notification.permission = "default";
window.Notification.requestPermission = function () {
  window.Notification.permission = "granted";
  return Promise.resolve("granted");
};
"""


@pytest.fixture
def people(site):
    from gallery.demo import seed_demo_items

    seed_demo_items(with_versions=False)
    site.make_user("member")


def log_in(page, site):
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", "member")
    page.fill("#id_password", "pw-for-integration-1")
    page.click("main button[type=submit]")


def start_job(page, site, recipe):
    page.goto(f"{site.url}/items/{FILM}/")
    page.select_option("#restore select[name=recipe]", recipe)
    page.click("#restore button[type=submit]")
    page.wait_for_url("**/jobs/*-*/")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_finished_job_shows_its_result_how_it_was_made_and_publish_without_a_reload(site, people, device):
    with open_page(**device) as page:
        page.add_init_script(NOTIFICATION_SPY)
        log_in(page, site)
        start_job(page, site, "film-light")
        # While it runs: the title shows the progress; the page offers to notify.
        page.click("#job-notify")
        page.wait_for_selector("#job-notify", state="hidden")
        assert "Restoration job" in page.title()

        page.wait_for_selector("#job-result-media", timeout=180_000)
        assert page.evaluate("window.__sameDocument") is True
        assert page.text_content("#job-state") == "Succeeded"
        page.wait_for_function("document.getElementById('job-result-media').readyState >= 1", timeout=30_000)
        assert page.evaluate("document.getElementById('job-result-media').error") is None
        how = page.text_content("#job-provenance")
        assert "Deflicker" in how and "Evened out the flicker of brightness" in how
        assert page.is_hidden(".how-details ol")  # the raw recipe waits behind its toggle
        page.click(".how-details summary")
        assert "radius=" in page.text_content(".how-details ol")
        assert page.is_visible("#job-publish") and page.is_hidden("#job-cancel")
        assert page.is_hidden("#job-preview-figure")
        assert page.title().startswith("✓ Succeeded · ")
        notes = page.wait_for_function("window.__notifications.length && window.__notifications")
        assert [n["title"] for n in notes] == ["Your restoration is ready"]

        # Before and after right here, live too: the file given on the left, the result on the right.
        assert page.is_visible("#job-compare #compare-range")
        assert page.get_attribute("#compare-left-media", "src").endswith("/source/")
        assert page.get_attribute("#compare-right-media", "src").endswith("/result/")
        page.wait_for_function("['left', 'right'].every(function (side) {"
                               " var v = document.getElementById('compare-' + side + '-media');"
                               " return v.readyState >= 1 && !v.error; })", timeout=30_000)
        page.fill("#compare-range", "25")
        assert "25%" in page.evaluate("document.getElementById('compare-pane-right').style.clipPath")
        page.focus("#compare-range")
        page.keyboard.press(".")  # one frame on: the result follows the source
        page.wait_for_function("(function () { var l = document.getElementById('compare-left-media'),"
                               " r = document.getElementById('compare-right-media');"
                               " return l.currentTime > 0 && Math.abs(l.currentTime - r.currentTime) < 0.02; })()")
        page.wait_for_function("location.search.includes('split=25') && location.hash === '#job-compare'")

        # Publish straight from the live page.
        page.fill("#id_title", "Published live")
        page.click("#job-publish button[type=submit]")
        page.wait_for_url(f"**/items/{FILM}/#version-*")
        assert page.locator("#versions article.version").filter(has_text="Published live").count() == 1


def test_a_job_cancelled_elsewhere_offers_to_run_it_again_without_a_reload(site, people):
    with open_page(**DESKTOP) as page:
        page.add_init_script(NOTIFICATION_SPY)
        log_in(page, site)
        start_job(page, site, "film-default")
        job_id = page.url.rstrip("/").rsplit("/", 1)[-1]
        assert page.locator("#job-retry").count() == 0

        site.login("member").post(f"{site.url}/api/jobs/{job_id}/cancel/", timeout=10).raise_for_status()
        page.wait_for_selector("#job-retry button", timeout=120_000)
        assert page.evaluate("window.__sameDocument") is True
        assert page.text_content("#job-state") == "Cancelled"
        assert page.title().startswith("✗ Cancelled · ")
        assert page.locator("#job-publish").count() == 0 and page.is_hidden("#job-cancel")
        assert page.evaluate("window.__notifications") == []  # never allowed: no notification
        page.click("#job-retry button")
        page.wait_for_url("**/jobs/*-*/")
        assert job_id not in page.url
