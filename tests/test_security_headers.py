"""Content-Security-Policy and Permissions-Policy on the site's pages, and pages that need no exception
to them: no inline script, handler or style anywhere (the browser tests enforce the policy too)."""
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from restoration_site.storage_url import media_origin, media_storage_from_url

ROOT = Path(__file__).resolve().parent.parent
POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "media-src": ["'self'", "blob:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


def parse_policy(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {directive[0]: directive[1:] for directive in directives}


class InlineCode(HTMLParser):
    """Collects what a strict policy blocks in a page: inline scripts, on* handlers, javascript: URLs,
    style attributes and <style> blocks."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.found.append("<style> block")
        if tag == "script" and not attributes.get("src") and attributes.get("type") != "application/json":
            self._in_inline_script = True

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.found.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found


@pytest.fixture
def pages(db, media_root, owner, film_clip):
    from tests.gallery.factories import make_item
    from tests.jobs.factories import job_for

    item = make_item()
    job = job_for(owner, film_clip)
    return ["/", "/gallery/", "/accounts/login/", "/accounts/signup/", "/admin/login/", "/api/docs/",
            f"/items/{item.slug}/", "/jobs/", "/jobs/new/", f"/jobs/{job.id}/", f"/jobs/colorize/?item={item.id}"]


def test_every_page_sends_the_strict_policy_and_turns_unused_features_off(client, owner, pages):
    client.force_login(owner)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert parse_policy(response["Content-Security-Policy"]) == POLICY, url
        features = dict(part.strip().split("=", 1) for part in response["Permissions-Policy"].split(","))
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert features[feature] == "()", (url, feature)


def test_no_page_has_an_inline_script_handler_or_style(client, owner, pages):
    client.force_login(owner)
    for signed_in in (True, False):
        if not signed_in:
            client.logout()
        for url in pages:
            response = client.get(url)
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                assert inline_code(response.content.decode()) == [], url


def test_the_api_docs_load_their_start_up_script_from_a_url_of_their_own(client, db):
    page = client.get("/api/docs/").content.decode()
    assert 'src="/api/docs/?script=' in page
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content and b"/api/schema/" in script.content


def test_the_detector_finds_what_the_policy_would_block():
    html = ('<p style="color:red" onclick="x()"><a href="javascript:void(0)">a</a></p><style>p{}</style>'
            '<script>alert(1)</script><script src="/static/x.js"></script>'
            '<script type="application/json" id="data">{"a": 1}</script>')
    assert len(inline_code(html)) == 5


def test_the_media_stores_origin_is_allowed_for_pictures_and_videos():
    storage = media_storage_from_url("s3://KEY:SECRET@s3.example.org:9000/media?secure=1")
    assert media_origin(storage) == "https://s3.example.org:9000"
    assert media_origin(media_storage_from_url("")) == ""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DJANGO_SETTINGS_MODULE="restoration_site.settings",
               MEDIA_STORAGE_URL="s3://KEY:SECRET@127.0.0.1:8333/media?secure=0")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup(); from csp.utils import build_policy; "
                             "print(build_policy())"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    policy = parse_policy(result.stdout.strip())
    assert policy["img-src"] == ["'self'", "data:", "blob:", "http://127.0.0.1:8333"]
    assert policy["media-src"] == ["'self'", "blob:", "http://127.0.0.1:8333"]
    assert policy["script-src"] == ["'self'"] and policy["connect-src"] == ["'self'"]


def test_error_pages_are_the_sites_own_and_need_no_exception(db, owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    refused = client.post("/jobs/new/", {})  # no CSRF token
    assert refused.status_code == 403
    page = refused.content.decode()
    assert "The form has expired" in page and inline_code(page) == []
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404 and inline_code(missing.content.decode()) == []
    assert parse_policy(missing["Content-Security-Policy"]) == POLICY
