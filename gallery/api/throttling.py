"""Rate limits for the gallery's API writes (the scopes' rates are in the settings)."""
from rest_framework.throttling import ScopedRateThrottle


class ThrottledWritesMixin:
    """ScopedRateThrottle (by the view's `throttle_scope`) on POST only; reads are never throttled."""

    def get_throttles(self):
        return [ScopedRateThrottle()] if self.request.method == "POST" else []
