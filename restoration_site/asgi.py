"""HTTP and websockets in one ASGI application (served by daphne)."""
import os

from django.core.asgi import get_asgi_application

from restoration_site.daphne_requests import stop_twisted_parsing_uploads

stop_twisted_parsing_uploads()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "restoration_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from jobs.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
