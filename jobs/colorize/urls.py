from django.urls import path

from jobs.colorize import views

urlpatterns = [
    path("", views.colorize_page, name="colorize"),
    path("frame/", views.colorize_frame, name="colorize_frame"),
]
