"""Colorizing in a real browser (Chromium through Playwright, phone-sized) against the real site:
pick a frame, draw a scribble on the canvas with the mouse (and a finger), preview the colorized frame,
launch the job."""
from unittest import mock

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.integration.browser import PHONE, needs_chromium, open_page

pytestmark = needs_chromium


@pytest.fixture
def film(site, make_clip):
    """A film item and a member, made before the browser starts (Playwright's event loop would make
    the ORM refuse sync calls). After `site`, which points MEDIA_ROOT at the site's media."""
    from gallery import services
    from gallery.models import Item

    staff = site.make_user("curator", is_staff=True)
    site.make_user("member")
    with mock.patch("gallery.tasks.make_derived_media.delay"):
        return services.item_create(uploader=staff, kind=Item.Kind.FILM, title="A street in 1920",
                                    upload=SimpleUploadedFile("street.mp4", make_clip(12).read_bytes()))


@pytest.fixture
def page():
    with open_page(**PHONE) as page:
        yield page


def painted_pixels(page) -> int:
    return page.evaluate("""() => {
        const canvas = document.getElementById('colorize-canvas');
        const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
        let count = 0;
        for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) count++;
        return count;
    }""")


def test_draw_a_scribble_and_preview_the_colorized_frame(site, film, page):
    page.goto(f"{site.url}/accounts/login/")
    page.fill("#id_username", "member")
    page.fill("#id_password", "pw-for-integration-1")
    with page.expect_navigation():
        page.click("main button[type=submit]")

    page.goto(f"{site.url}/jobs/colorize/?item={film.id}")
    assert page.get_attribute("#colorize-frame-range", "max") == "11"
    # Another frame: the picture follows, and the canvas takes its pixel size.
    page.fill("#colorize-frame-number", "4")
    page.dispatch_event("#colorize-frame-number", "change")
    page.wait_for_function("document.getElementById('colorize-frame').src.endsWith('frame=4')")
    page.wait_for_function("document.getElementById('colorize-frame').complete"
                           " && document.getElementById('colorize-canvas').width === 320")

    # A green stroke across the middle of the frame, drawn with the mouse.
    page.eval_on_selector("#colorize-color", "(input, value) => { input.value = value; }", "#28aa3c")
    box = page.locator("#colorize-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.3 + 0.04 * step), box["y"] + box["height"] * 0.5)
    page.mouse.up()
    opaque = painted_pixels(page)
    assert opaque > 200

    # A finger's tap leaves a dot; Undo takes it back.
    page.touchscreen.tap(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    assert painted_pixels(page) > opaque
    page.click("#colorize-undo")
    assert painted_pixels(page) == opaque

    # The eraser takes paint away; Undo brings it back.
    page.click("#colorize-eraser")
    page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5)
    page.mouse.up()
    assert painted_pixels(page) < opaque
    page.click("#colorize-undo")
    page.click("#colorize-eraser")
    assert painted_pixels(page) == opaque and page.get_attribute("#colorize-eraser", "aria-pressed") == "false"

    page.click("#colorize-preview-button")
    page.wait_for_function("document.getElementById('colorize-preview').naturalWidth > 0", timeout=30_000)
    assert page.is_visible("#colorize-result")
    assert page.evaluate("document.getElementById('colorize-preview').naturalWidth") == 320
    assert page.is_hidden("#colorize-error")

    # The preview is coloured where the stroke was: green dominates there.
    # (Read through a canvas: the site's policy lets no script fetch the preview's blob: URL.)
    rgba = page.evaluate("""() => {
        const image = document.getElementById('colorize-preview');
        const canvas = document.createElement('canvas');
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(image, 0, 0);
        return Array.from(context.getImageData(110, 118, 90, 4).data);
    }""")
    stroke = np.asarray(rgba).reshape(4, 90, 4)[..., :3].astype(int)
    assert (stroke[..., 1] - (stroke[..., 0] + stroke[..., 2]) / 2).mean() > 5

    # The whole clip: the job's page opens.
    page.click("#colorize-launch-button")
    page.wait_for_url(f"{site.url}/jobs/*/", timeout=30_000)
    assert page.errors == []
