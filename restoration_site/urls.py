from django.contrib import admin
from django.http import HttpResponse
from django.conf import settings
from django.urls import include, path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from restoration_site import accounts

@require_GET
def healthz(request):
    """For load balancers and uptime checks: the process answers (no database, no session)."""
    return HttpResponse("ok", content_type="text/plain")


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico whatever the page links: the same SVG as static/favicon.svg."""
    response = HttpResponse((settings.BASE_DIR / "static" / "favicon.svg").read_bytes(), content_type="image/svg+xml")
    response["Cache-Control"] = "public, max-age=86400"
    return response


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("", include("gallery.urls")),
    path("jobs/", include("jobs.urls")),
    path("accounts/signup/", accounts.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/", include("jobs.api_urls")),
    path("api/", include("gallery.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI's start-up script from its own URL (?script), with no inline script or style: see api_docs.html.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
         name="api-docs"),
]

# Under /api/, what Django answers without a DRF view is JSON too (restoration_site.errors).
handler400 = "restoration_site.errors.bad_request"
handler403 = "restoration_site.errors.permission_denied"
handler404 = "restoration_site.errors.page_not_found"
handler500 = "restoration_site.errors.server_error"
