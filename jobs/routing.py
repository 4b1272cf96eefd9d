from django.urls import path, re_path

from jobs.consumers import JobConsumer, NotFoundConsumer

websocket_urlpatterns = [
    path("ws/jobs/<uuid:job_id>/", JobConsumer.as_asgi()),
    re_path(r"", NotFoundConsumer.as_asgi()),  # last: every other path is a 4404, not a failed handshake
]
