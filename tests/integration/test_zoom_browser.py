"""The zoomable picture of a painting in a real browser (Chromium through Playwright, phone-sized)
against the real site: keyboard, buttons, double-click and wheel change the image's transform."""
import io
import re
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from skimage import data

from tests.integration.browser import PHONE, needs_chromium, open_page

pytestmark = needs_chromium

IMAGE = "document.querySelector('.zoom-viewport img')"


@pytest.fixture
def painting(site):
    """A painting made before the browser starts (Playwright's event loop would make the ORM refuse
    sync calls), with its poster made here as the site's worker would."""
    from gallery import services
    from gallery.models import Item
    from tests.gallery.factories import run_derived_media

    buffer = io.BytesIO()
    Image.fromarray(data.astronaut()).save(buffer, format="PNG")  # 512 x 512
    staff = site.make_user("curator", is_staff=True)
    with mock.patch("gallery.tasks.make_derived_media.delay"):
        item = services.item_create(uploader=staff, kind=Item.Kind.PAINTING, title="Portrait in a spacesuit",
                                    upload=SimpleUploadedFile("portrait.png", buffer.getvalue()))
    return run_derived_media(item)


@pytest.fixture
def page():
    with open_page(**PHONE) as page:
        yield page


def transform(page) -> tuple[float, float, float]:
    """(scale, x, y) of the picture, read from its computed CSS transform."""
    matrix = page.evaluate(f"getComputedStyle({IMAGE}).transform")
    if matrix == "none":
        return 1.0, 0.0, 0.0
    a, _b, _c, _d, e, f = (float(n) for n in re.findall(r"-?[\d.]+(?:e-?\d+)?", matrix))
    return a, e, f


def test_the_picture_zooms_and_pans_with_keys_buttons_and_double_click(site, painting, page):
    page.goto(f"{site.url}{painting.get_absolute_url()}")
    page.wait_for_selector(".zoom-viewport")
    page.wait_for_function(f"{IMAGE}.complete && {IMAGE}.naturalWidth > 0")
    assert page.evaluate(f"{IMAGE}.naturalWidth") == 512  # the full-size file, not the poster
    assert transform(page) == (1.0, 0.0, 0.0)

    # Keyboard: + zooms around the centre, arrows move, - and 0 come back.
    page.focus(".zoom-viewport")
    page.keyboard.press("+")
    scale, x, y = transform(page)
    assert scale == pytest.approx(1.5) and x < 0 and y < 0  # zoomed on the centre, not the corner
    assert page.text_content(".zoom-level") == "150%"
    page.keyboard.press("ArrowRight")
    assert transform(page)[1] < x  # the picture moved left to show more of its right side
    for _ in range(6):
        page.keyboard.press("ArrowLeft")
    assert transform(page)[1] == pytest.approx(0.0)  # no further than the picture's edge
    page.keyboard.press("-")
    assert transform(page)[0] == pytest.approx(1.0)
    page.keyboard.press("+")
    page.keyboard.press("+")
    assert transform(page)[0] == pytest.approx(2.25)
    page.keyboard.press("0")
    assert transform(page) == (1.0, 0.0, 0.0)

    # Buttons, for touch screens.
    page.get_by_role("button", name="Zoom in").tap()
    assert transform(page)[0] == pytest.approx(1.5)
    page.get_by_role("button", name="Fit").tap()
    assert transform(page)[0] == pytest.approx(1.0)

    # Double-click toggles; the mouse wheel zooms where the pointer is.
    page.dblclick(".zoom-viewport")
    assert transform(page)[0] == pytest.approx(2.5)
    page.dblclick(".zoom-viewport")
    assert transform(page)[0] == pytest.approx(1.0)
    box = page.locator(".zoom-viewport").bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 20)
    page.mouse.wheel(0, -300)
    page.wait_for_function(f"{IMAGE}.style.transform.indexOf('scale(1)') < 0")
    assert transform(page)[0] > 1.2
    assert page.errors == []
