from django.urls import include, path

from jobs import api

urlpatterns = [
    path("jobs/", api.JobListCreateApi.as_view(), name="api-jobs"),
    path("jobs/quota/", api.JobQuotaApi.as_view(), name="api-job-quota"),
    path("jobs/colorize/", include("jobs.colorize.api_urls")),
    path("jobs/<uuid:job_id>/", api.JobDetailApi.as_view(), name="api-job"),
    path("jobs/<uuid:job_id>/events/", api.JobEventsApi.as_view(), name="api-job-events"),
    path("jobs/<uuid:job_id>/cancel/", api.JobCancelApi.as_view(), name="api-job-cancel"),
    path("jobs/<uuid:job_id>/retry/", api.JobRetryApi.as_view(), name="api-job-retry"),
    path("jobs/<uuid:job_id>/publish/", api.JobPublishApi.as_view(), name="api-job-publish"),
    path("recipes/", api.RecipeListApi.as_view(), name="api-recipes"),
]
