"""Chromium through Playwright for the browser tests: one way to open a page, phone or desktop.

Every page opened here is watched for Content-Security-Policy violations (the site's policy is
enforced, as in production): a page that breaks the policy fails its test when the page is closed.
A machine without Chromium does not skip the browser tests: tests/integration/conftest.py stops the
run and names the command that installs it (`make browser`).
"""
from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from functools import partial
from typing import Iterator

import pytest
from playwright import sync_api as playwright_api

# CHROMIUM=/path/to/chrome picks another build; otherwise Debian's (`make browser` installs it).
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
INSTALL_COMMAND = "make browser"
MISSING_MESSAGE = (f"Chromium is needed for the browser tests and none was found (chromium on PATH, or CHROMIUM=path): "
                   f"run `{INSTALL_COMMAND}` (as root: apt-get install chromium), or leave them out with -m 'not browser'.")
# The browser tests carry this mark; the conftest stops the run when one is selected and Chromium is missing.
needs_chromium = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

# Runs in every document before the page's own scripts: each `securitypolicyviolation` (an inline
# script, handler or style, a source the policy does not allow, an eval) is handed to the test.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation({
    directive: event.effectiveDirective || event.violatedDirective,
    blocked: event.blockedURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
    page: document.location.href,
  });
}, true);
"""


def describe(violation: dict) -> str:
    if "console" in violation:
        return f"console at {violation['page']}: {violation['console']}"
    where = f"{violation.get('source') or violation.get('page')}:{violation.get('line') or '?'}"
    return (f"{violation.get('directive')} blocked {violation.get('blocked') or '(inline)'} at {where}"
            f"{' ' + repr(violation['sample']) if violation.get('sample') else ''}")


def wait_for_function(page, expression: str, arg=None, *, timeout: float | None = None, polling=None):
    """Page.wait_for_function without eval in the page. Playwright's own polls the expression from a
    function it compiles in the page with eval, which the site's policy forbids (no 'unsafe-eval');
    this one evaluates it from the test every `polling` ms (100 by default) until it is truthy, and
    returns its value."""
    deadline = time.monotonic() + (30_000 if timeout is None else timeout) / 1000
    while True:
        try:
            value = page.evaluate(expression, arg)
            if value:
                return value
        except playwright_api.Error as error:
            if "context was destroyed" not in str(error):  # a navigation in between: try again
                raise
        if time.monotonic() > deadline:
            raise playwright_api.TimeoutError(f"wait_for_function: {expression!r} not true within {timeout or 30_000} ms")
        page.wait_for_timeout(polling if isinstance(polling, (int, float)) else 100)


@contextmanager
def open_page(**context_options) -> Iterator:
    """A page in a fresh browser; `page.errors` collects the page's uncaught JavaScript errors and
    `page.csp_violations` the Content-Security-Policy violations, which fail the test on leaving;
    `page.wait_for_function` is the CSP-safe one above."""
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(**context_options)
        violations: list = []
        context.expose_binding("__reportCspViolation", lambda _source, violation: violations.append(violation))
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        page.errors = []
        page.csp_violations = violations
        page.wait_for_function = partial(wait_for_function, page)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        # Chromium also logs each violation to the console ("... violates the following Content
        # Security Policy directive ..."), including some no event reports.
        page.on("console", lambda message: violations.append({"console": message.text, "page": page.url})
                if "Content Security Policy" in message.text else None)
        try:
            yield page
            if not page.is_closed():
                page.evaluate("0")  # a round trip: reports sent before it have arrived
            assert not violations, "Content Security Policy violations:\n" + "\n".join(
                describe(violation) for violation in violations)
        finally:
            browser.close()
