from django.urls import include, path

from jobs import views

app_name = "jobs"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.job_new, name="new"),
    path("new/item/<int:item_id>/", views.job_new_for_item, name="new_for_item"),
    path("queue/", views.queue_page, name="queue"),
    path("colorize/", include("jobs.colorize.urls")),
    path("<uuid:job_id>/", views.job_detail, name="detail"),
    path("<uuid:job_id>/outcome/", views.job_outcome, name="outcome"),
    path("<uuid:job_id>/cancel/", views.job_cancel, name="cancel"),
    path("<uuid:job_id>/retry/", views.job_retry, name="retry"),
    path("<uuid:job_id>/result/", views.job_result, name="result"),
    path("<uuid:job_id>/publish/", views.job_publish, name="publish"),
    path("<uuid:job_id>/source/", views.job_source, name="source"),
    path("<uuid:job_id>/assets/<uuid:asset_id>/", views.job_asset, name="asset"),
]
