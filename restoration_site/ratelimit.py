"""Rate limits shared by the API and the HTML pages, and the client's address they count by.

The HTML write views (comment, report, homework, job launch) use the API's own throttle, DRF's
ScopedRateThrottle, with the same scopes and rates (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES): the
same cache keys, so one person's comments through the page and through the API share one count.
Sign-ups are counted per client address (SIGNUP_RATE). The counts live in Django's default cache,
which must be shared by every web process (CACHE_URL: Redis) when there is more than one.
"""
from __future__ import annotations

import math
from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from rest_framework.throttling import BaseThrottle, ScopedRateThrottle, SimpleRateThrottle

from restoration_site.errors import ApplicationError


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT proxies in front (each adding
    to X-Forwarded-For) the address the outermost trusted proxy saw; what a client writes in the
    header itself is never trusted beyond that. (DRF's rule for NUM_PROXIES, set from the same setting.)
    Used by the login lockout (django-axes), the sign-up rate and the API's throttles alike."""
    return BaseThrottle().get_ident(request)


def _wait_message(seconds: float | None) -> str:
    minutes = max(1, math.ceil((seconds or 60) / 60))
    return ngettext("Too many in a short time: please wait %(n)d minute and try again.",
                    "Too many in a short time: please wait %(n)d minutes and try again.", minutes) % {"n": minutes}


class _Scope:
    """What ScopedRateThrottle reads from a view: its scope."""

    def __init__(self, scope: str):
        self.throttle_scope = scope


def throttle_write(request, scope: str) -> None:
    """Count one write of `scope` by this request's user (or address) against the API's rate for
    it; ApplicationError 429 saying how long to wait when the rate is spent."""
    throttle = ScopedRateThrottle()
    if not throttle.allow_request(request, _Scope(scope)):
        raise ApplicationError(_wait_message(throttle.wait()), status_code=429)


def throttled(scope: str, *, only=None):
    """Decorate an HTML view that writes: each POST (for which `only(kwargs)` holds, when given)
    counts against the API's rate for `scope` (throttle_write); past it, a 429 page saying how long
    to wait (JSON {"message", "extra"} for a script that asks for JSON), and the view does not run."""
    def decorate(view):
        @wraps(view)
        def guarded(request, *args, **kwargs):
            if request.method == "POST" and (only is None or only(kwargs)):
                try:
                    throttle_write(request, scope)
                except ApplicationError as exc:
                    if request.headers.get("Accept", "").startswith("application/json"):
                        return JsonResponse({"message": exc.message, "extra": {}}, status=exc.status_code)
                    back = request.headers.get("Referer", "")
                    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
                        back = "/"
                    return render(request, "throttled.html", {"message": exc.message, "back": back},
                                  status=exc.status_code)
            return view(request, *args, **kwargs)
        return guarded
    return decorate


class SignupThrottle(SimpleRateThrottle):
    """New accounts per client address: SIGNUP_RATE (e.g. "5/hour")."""

    scope = "signup"

    def get_rate(self):
        return settings.SIGNUP_RATE

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


def throttle_signup(request) -> None:
    """Count one new account from this request's address; ApplicationError 429 when SIGNUP_RATE is spent."""
    throttle = SignupThrottle()
    if not throttle.allow_request(request, None):
        minutes = max(1, math.ceil((throttle.wait() or 60) / 60))
        raise ApplicationError(ngettext(
            "Too many accounts were made from your address; please wait %(n)d minute and try again.",
            "Too many accounts were made from your address; please wait %(n)d minutes and try again.", minutes)
            % {"n": minutes}, status_code=429)
