"""The gallery in a real browser (Chromium through Playwright, phone-sized) against the real site:
browse and filter, compare before/after with the keyboard, sign up, hand in homework, comment."""
import io
import time
from unittest import mock

import numpy as np
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from skimage import data

from tests.integration.browser import PHONE, needs_chromium, open_page

pytestmark = needs_chromium

PHOTO = "demo-cameraman-photo"
PASSWORD = "a-long-Pass-phrase-42"


def _png_bytes(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    photo = data.camera()[::2, ::2].astype(np.float32)
    rgb = np.clip(np.repeat(photo[..., None], 3, axis=2) + rng.normal(0, 3, (*photo.shape, 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(rgb.astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def gallery(site):
    """Demo items and one handed-in version, made before the browser starts (Playwright's event loop
    would make the ORM refuse sync calls). After `site`, which points MEDIA_ROOT at the site's media."""
    from gallery import services
    from gallery.demo import seed_demo_items
    from gallery.models import Item

    from tests.gallery.factories import run_derived_media

    seed_demo_items()
    restorer = site.make_user("restorer")
    # This process has no broker: make the poster here, as the site's worker would.
    with mock.patch("gallery.tasks.make_derived_media.delay"):
        version = services.homework_hand_in(
            author=restorer, item=Item.objects.get(slug=PHOTO), title="Cleaned by hand",
            upload=SimpleUploadedFile("cleaned.png", _png_bytes(1), content_type="image/png"))
    return {"version": run_derived_media(version)}


@pytest.fixture
def page():
    with open_page(**PHONE) as page:
        yield page


def test_browse_compare_sign_up_hand_in_and_comment(site, gallery, page, tmp_path):
    item_url = f"{site.url}/items/{PHOTO}/"

    # From the home page to the gallery, then only photographs.
    page.goto(f"{site.url}/")
    assert page.get_by_role("heading", name="Latest homework").is_visible()
    page.get_by_role("link", name="Browse the gallery").click()
    page.wait_for_url("**/gallery/")
    from gallery.demo import DEMO_ITEMS

    assert page.locator("#gallery-items > li").count() == len(DEMO_ITEMS)
    page.select_option("#filter-kind", "photo")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    assert "kind=photo" in page.url
    titles = sorted(page.locator("#gallery-items h2").all_text_contents())
    assert titles == ["A cup of coffee (demo photo)", "The cameraman (demo photo)"]
    assert page.locator("#filter-kind").input_value() == "photo"  # the form keeps the filter

    # The item: the comparison is live, the original on the left, the first listed version on the right.
    page.get_by_role("link", name="The cameraman (demo photo)").click()
    page.wait_for_url(item_url)
    assert page.is_visible("#compare-range") and page.is_visible("#compare-right-select")
    assert page.input_value("#compare-left-select") == "original"
    first_version = page.get_attribute("#versions article.version", "id")
    assert first_version == f"version-{page.input_value('#compare-right-select')}"
    uid = str(gallery["version"].uid)
    page.select_option("#compare-right-select", uid)
    assert page.get_attribute("#compare-right-media", "src").endswith(f"/versions/{uid}/media/")
    page.wait_for_function("document.getElementById('compare-right-media').naturalWidth > 0")
    assert "Cleaned by hand" in page.text_content("#compare-credit-right")
    assert "restorer" in page.text_content("#compare-credit-right")
    clip = "document.getElementById('compare-pane-right').style.clipPath"
    assert page.evaluate(clip).endswith(" 50%)")

    # The divider moves with the keyboard, and says where it is.
    page.focus("#compare-range")
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(clip).endswith(" 49%)")
    assert page.get_attribute("#compare-range", "aria-valuetext") == "Left side 49%, right side 51%"
    page.keyboard.press("End")
    assert page.evaluate(clip).endswith(" 100%)")

    # Any two sides: the version on the left, the original on the right.
    page.select_option("#compare-left-select", uid)
    page.select_option("#compare-right-select", "original")
    assert page.get_attribute("#compare-left-media", "src").endswith(f"/versions/{uid}/media/")
    assert page.get_attribute("#compare-right-media", "src").endswith(f"/items/{PHOTO}/media/")
    assert "Original" in page.text_content("#compare-credit-right")

    # Sign up through the page.
    page.get_by_role("link", name="Sign up").click()
    page.fill("#id_username", "newcomer")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url == item_url  # back on the item page the visitor signed up from

    # Hand in homework, sent by upload.js with a progress bar: a bad file's error shows in the form,
    # which keeps what was typed; a good one is listed on the item page, with its AI-color label.
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture at all")
    page.set_input_files("#id_file", str(broken))
    page.fill("#id_title", "Newcomer's homework")
    page.check("#id_ai_color")
    with page.expect_request(lambda r: r.url.endswith("/homework/") and r.method == "POST") as sent:
        page.click("#homework button[type=submit]")
    assert sent.value.resource_type == "xhr"
    page.wait_for_selector("#homework .upload-error", state="visible")
    assert "not an image or video" in page.text_content("#homework .upload-error")
    assert page.input_value("#id_title") == "Newcomer's homework" and page.url.startswith(item_url)
    upload = tmp_path / "my-homework.png"
    upload.write_bytes(_png_bytes(2))
    page.set_input_files("#id_file", str(upload))
    with page.expect_navigation():
        page.click("#homework button[type=submit]")
    assert "Thank you" in page.text_content(".messages")
    mine = page.locator("#versions article.version").filter(has_text="Newcomer's homework")
    assert mine.count() == 1
    assert "newcomer" in mine.text_content() and "AI-generated color" in mine.text_content()
    assert page.locator("#compare-right-select option").filter(has_text="Newcomer's homework").count() == 1

    # Comment.
    page.fill("#id_body", "The scratch is gone, well done!")
    with page.expect_navigation():
        page.click("#comments form.comment-form button[type=submit]")
    comment = page.locator("#comments article.comment").filter(has_text="The scratch is gone, well done!")
    assert comment.count() == 1 and "newcomer" in comment.text_content()

    # Every picture on the page is served (the lazy ones too).
    page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)")
    page.screenshot(path=str(tmp_path / "item_page.png"), full_page=True)
    assert page.errors == []


@pytest.fixture
def curator(site):
    return site.make_user("curator", is_staff=True, is_superuser=True)


def test_a_curator_uploads_an_item_in_the_admin_and_the_worker_makes_its_poster(site, curator, page, tmp_path):
    page.goto(f"{site.url}/admin/login/?next=/admin/gallery/item/add/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", "pw-for-integration-1")
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.fill("#id_title", "The Bund at dusk")
    page.press("#id_title", "Tab")  # the admin fills the slug from the title as the field is left
    page.select_option("#id_kind", "photo")
    slug = page.input_value("#id_slug")
    assert slug == "the-bund-at-dusk"

    # A bad file: sent by upload.js; the admin's own page with its error replaces the form.
    broken = tmp_path / "scan.png"
    broken.write_bytes(b"not a picture at all")
    page.set_input_files("#id_media", str(broken))
    with page.expect_request(lambda r: r.url.endswith("/admin/gallery/item/add/") and r.method == "POST") as sent:
        page.click("input[name=_save]")
    assert sent.value.resource_type == "xhr"
    page.wait_for_selector(".errorlist")
    assert "not an image or video" in page.text_content(".errorlist")

    # A good one: the admin's redirect is followed, and the site's worker makes the poster.
    good = tmp_path / "bund.png"
    good.write_bytes(_png_bytes(3))
    page.set_input_files("#id_media", str(good))
    with page.expect_navigation(url="**/admin/gallery/item/"):
        page.click("input[name=_save]")
    deadline = time.monotonic() + 60
    while requests.get(f"{site.url}/items/{slug}/poster/", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the worker made no poster\n" + site.dump_logs()
        time.sleep(0.5)
    page.goto(f"{site.url}/gallery/")
    assert page.locator(f"#gallery-items img[src$='/items/{slug}/poster/']").count() == 1
    assert page.errors == []


@pytest.fixture
def moment_comment(site):
    """A demo film and a comment about its moment 0:02 (the demo clips last 3 s)."""
    from gallery import services
    from gallery.demo import seed_demo_items
    from gallery.models import Item

    seed_demo_items()
    film = Item.objects.get(slug="demo-astronaut-film")
    services.comment_create(author=site.make_user("viewer"), item=film, body="The scratch starts here", at_seconds=2.0)
    return film


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_comment_s_moment_plays_the_clip_from_there(site, moment_comment, size):
    from tests.integration.browser import DESKTOP, wait_for_function

    with open_page(**(PHONE if size == "phone" else DESKTOP)) as page:
        page.goto(f"{site.url}/items/{moment_comment.slug}/#comments")
        link = page.locator("#comments a.seek")
        assert link.text_content().strip() == "0:02"
        wait_for_function(page, "document.querySelector('.original-media video').readyState >= 1")
        link.click()
        wait_for_function(page, "Math.abs(document.querySelector('.original-media video').currentTime - 2) < 0.5")


@pytest.fixture
def film_with_version(site):
    """A demo film with its engine-made first version (seed_demo_items makes one per item)."""
    from gallery.demo import seed_demo_items
    from gallery.models import Item

    seed_demo_items()
    film = Item.objects.get(slug="demo-astronaut-film")
    return {"slug": film.slug, "fps": film.media_info["fps"], "version": film.versions.first().uid}


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_compare_link_opens_the_same_view_and_films_step_frame_by_frame(site, film_with_version, size):
    from tests.integration.browser import DESKTOP, wait_for_function

    film = film_with_version
    left_time = "document.getElementById('compare-left-media').currentTime"
    with open_page(**(PHONE if size == "phone" else DESKTOP)) as page:
        page.goto(f"{site.url}/items/{film['slug']}/?left={film['version']}&right=original&split=30&t=1.5#compare")
        assert page.input_value("#compare-left-select") == str(film["version"])
        assert page.input_value("#compare-right-select") == "original"
        assert page.get_attribute("#compare-left-media", "src").endswith(f"/versions/{film['version']}/media/")
        assert page.input_value("#compare-range") == "30"
        assert "30%" in page.evaluate("document.getElementById('compare-pane-right').style.clipPath")
        wait_for_function(page, f"Math.abs({left_time} - 1.5) < 0.05")

        # One frame forward with '.', back with ',' (focus on the divider, as a keyboard user has it).
        page.focus("#compare-range")
        page.keyboard.press(".")
        wait_for_function(page, f"Math.abs({left_time} - (1.5 + 1 / {film['fps']})) < 0.01")
        page.keyboard.press(",")
        page.keyboard.press(",")
        wait_for_function(page, f"Math.abs({left_time} - (1.5 - 1 / {film['fps']})) < 0.01")
        assert page.evaluate("document.getElementById('compare-left-media').paused")

        # The address follows the view: another divider position, the original back on the left.
        page.fill("#compare-range", "65")
        page.select_option("#compare-left-select", "original")
        page.select_option("#compare-right-select", str(film["version"]))
        wait_for_function(page, "location.search.includes('split=65') && location.search.includes('left=original')"
                                f" && location.search.includes('right={film['version']}')")
        address = page.url
        assert address.endswith("#compare") and f"right={film['version']}" in address
        assert f"t={round(1.5 - 1 / film['fps'], 2):g}" in address

        page.goto("about:blank")
        page.goto(address)
        assert page.input_value("#compare-range") == "65"
        assert page.input_value("#compare-left-select") == "original"
        assert page.input_value("#compare-right-select") == str(film["version"])
        wait_for_function(page, f"Math.abs({left_time} - (1.5 - 1 / {film['fps']})) < 0.02")

        # A/B: the left side whole, then the right one whole, on the same spot.
        page.click("#compare-ab")
        assert page.input_value("#compare-range") == "100"
        assert "100%" in page.evaluate("document.getElementById('compare-pane-right').style.clipPath")
        page.click("#compare-ab")
        assert page.input_value("#compare-range") == "0"
        wait_for_function(page, "location.search.includes('split=0')")
