"""The site's Content-Security-Policy in a real browser: the detector every browser test relies on
catches what the policy blocks, and the pages with the most script (the API docs, the admin, the
language menu) work under it with no violation."""
import pytest
from csp.utils import build_policy

from tests.integration.browser import DESKTOP, needs_chromium, open_page

pytestmark = needs_chromium

INLINE = """<!doctype html><html><head><title>untouched</title><style>p { color: red }</style></head>
<body><p style="color: blue">styled</p><button onclick="document.title = 'handler ran'">go</button>
<script>document.title = 'inline script ran';</script></body></html>"""


def test_an_inline_script_handler_or_style_under_the_sites_policy_fails_the_test():
    policy = build_policy()
    with pytest.raises(AssertionError, match="Content Security Policy violations") as failure:
        with open_page() as page:
            page.route("http://site.test/", lambda route: route.fulfill(
                status=200, content_type="text/html", headers={"Content-Security-Policy": policy}, body=INLINE))
            page.goto("http://site.test/")
            page.click("button")
            # The policy held: neither the script nor the handler ran, and the page's style was not applied.
            assert page.title() == "untouched"
            assert page.evaluate("getComputedStyle(document.querySelector('p')).color") == "rgb(0, 0, 0)"
    report = str(failure.value)
    for directive in ("script-src-elem", "script-src-attr", "style-src-elem", "style-src-attr"):
        assert directive in report, report


@pytest.fixture
def staff(site):
    # Made before the browser starts: Playwright's event loop would make the ORM refuse sync calls.
    return site.make_user("curator", is_staff=True, is_superuser=True)


@pytest.fixture
def page():
    with open_page(**DESKTOP) as page:
        yield page


def test_the_api_docs_admin_and_language_menu_work_under_the_policy(site, staff, page):
    page.goto(f"{site.url}/api/docs/")
    # Swagger UI started (its script comes from ?script) and read the schema: the operations are listed.
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 5

    page.goto(f"{site.url}/admin/login/")
    page.fill("#id_username", "curator")
    page.fill("#id_password", "pw-for-integration-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{site.url}/admin/")
    page.goto(f"{site.url}/admin/gallery/item/")
    page.wait_for_selector("#changelist")

    # The language menu sends its form when another language is chosen (static/js/site.js, no handler).
    page.goto(f"{site.url}/gallery/")
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert page.errors == []
