"""The job page in a real browser (Chromium through Playwright) against the real site."""

import pytest
from skimage import data

from tests.integration.browser import needs_chromium, open_page

pytestmark = needs_chromium

FRAMES = 144


@pytest.fixture
def clip(make_clip):
    return make_clip(FRAMES, data.rocket(), seed=3)


@pytest.fixture
def viewer(site):
    # Made before the browser starts: Playwright's event loop would make the ORM refuse sync calls.
    return site.make_user("viewer")


@pytest.fixture
def page():
    with open_page(viewport={"width": 390, "height": 844}) as page:
        yield page


def test_upload_watch_live_progress_reload_and_play_the_result(site, viewer, clip, page):
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", "viewer")
    page.fill("#id_password", "pw-for-integration-1")
    page.click("main button[type=submit]")
    page.goto(f"{site.url}/jobs/new/")
    page.set_input_files("#id_file", str(clip))
    page.select_option("#id_recipe", "film-default")
    page.click("main form button[type=submit]")
    page.wait_for_url("**/jobs/*-*/")

    # Live progress: the bar moves while the worker runs, with frame counts in the text.
    page.wait_for_function("(() => { const v = document.getElementById('job-progress').value; return v > 0 && v < 1; })()",
                           timeout=120_000)
    assert f"/ {FRAMES}" in page.text_content("#job-detail")
    assert page.is_visible("#job-preview")

    # A reload shows the state from the database and goes on live.
    page.reload()
    page.wait_for_selector("#job-result-media", timeout=180_000)
    assert page.text_content("#job-state") == "Succeeded"
    assert page.is_hidden("#job-cancel")
    page.wait_for_function("document.getElementById('job-result-media').readyState >= 1", timeout=30_000)
    duration = page.evaluate("document.getElementById('job-result-media').duration")
    assert duration == pytest.approx(FRAMES / 12, abs=0.2)
    assert page.evaluate("document.getElementById('job-result-media').error") is None
