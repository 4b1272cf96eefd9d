from django.urls import path

from jobs.colorize import api

urlpatterns = [
    path("", api.ColorizeLaunchApi.as_view(), name="api-colorize"),
    path("preview/", api.ColorizePreviewApi.as_view(), name="api-colorize-preview"),
]
