"""Issue 12 polish in Chromium: the item page's sticky section bar and its single clip on a phone,
and the job page's cancel confirmation on a desktop (dismiss keeps the job, accept cancels it)."""
from unittest import mock

import pytest

from tests.integration.browser import DESKTOP, PHONE, needs_chromium, open_page

pytestmark = needs_chromium

FILM = "demo-astronaut-film"


@pytest.fixture
def film(site):
    """The demo items with their first restorations, made before the browser starts."""
    from gallery.demo import seed_demo_items

    seed_demo_items()
    return f"{site.url}/items/{FILM}/"


def test_phone_item_page_has_a_sticky_section_bar_and_shows_the_clip_once(site, film):
    with open_page(**PHONE) as page:
        page.goto(film)
        bar = page.locator("nav.section-bar")
        assert bar.is_visible()
        assert bar.locator("a").all_text_contents() == ["Watch", "Compare", "Versions", "Restore", "Comments"]
        # The original clip plays in the compare; its own player is not shown a second time.
        assert not page.is_visible(".original-media video")
        visible_original = page.evaluate(
            """[...document.querySelectorAll('video')].filter(v => v.offsetParent !== null
                 && v.getAttribute('src') === document.getElementById('compare-left-media').getAttribute('src')).length""")
        assert visible_original == 1
        # Each anchor scrolls its section under the bar, and the bar stays on screen.
        for anchor in ("comments", "versions", "restore", "compare"):
            bar.locator(f'a[href="#{anchor}"]').click()
            page.wait_for_function(f"Math.abs(document.getElementById('{anchor}').getBoundingClientRect().top"
                                   f" - document.querySelector('nav.section-bar').getBoundingClientRect().bottom) < 80"
                                   f" || window.innerHeight + window.scrollY >= document.body.scrollHeight - 2")
            box = bar.bounding_box()
            assert box["y"] == pytest.approx(0, abs=1) and page.evaluate("window.scrollY") > 0
        assert not page.errors


def test_desktop_cancel_asks_and_only_accept_cancels(site, film_clip):
    from jobs.models import Job
    from tests.jobs.factories import job_for

    owner = site.make_user("canceller")
    with mock.patch("jobs.tasks.run_job.apply_async"):  # it stays queued: no worker is sent it
        job = job_for(owner, film_clip)
    with open_page(**DESKTOP) as page:
        page.goto(f"{site.url}/accounts/login/")
        page.fill("#id_username", "canceller")
        page.fill("#id_password", "pw-for-integration-1")
        page.click("main button[type=submit]")
        page.goto(f"{site.url}/jobs/{job.id}/")
        questions = []
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
        page.click("#job-cancel button[type=submit]")
        page.wait_for_timeout(500)
        assert questions == ["Cancel this job? The work done so far is lost."]
        assert page.url.endswith(f"/jobs/{job.id}/")
        page.reload()  # what the server holds: still queued
        assert page.text_content("#job-state").strip() == "Queued"
        page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
        with page.expect_navigation():
            page.click("#job-cancel button[type=submit]")
        assert len(questions) == 2
        page.wait_for_function("document.getElementById('job-state').textContent.trim() === 'Cancelled'")
        assert not page.errors
    assert Job.objects.get(pk=job.pk).state == "cancelled"
