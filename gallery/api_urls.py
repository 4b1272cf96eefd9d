from django.urls import path

from gallery import api

urlpatterns = [
    path("items/", api.ItemListCreateApi.as_view(), name="api-items"),
    path("items/<slug:slug>/", api.ItemDetailApi.as_view(), name="api-item"),
    path("items/<slug:slug>/versions/", api.ItemVersionListApi.as_view(), name="api-item-versions"),
    path("items/<slug:slug>/homework/", api.HomeworkApi.as_view(), name="api-item-homework"),
    path("items/<slug:slug>/comments/", api.ItemCommentListCreateApi.as_view(), name="api-item-comments"),
    path("versions/<uuid:uid>/", api.VersionDetailApi.as_view(), name="api-version"),
    path("versions/<uuid:uid>/vote/", api.VersionVoteApi.as_view(), name="api-version-vote"),
    path("versions/<uuid:uid>/feature/", api.VersionFeatureApi.as_view(), name="api-version-feature"),
    path("comments/<int:comment_id>/", api.CommentDetailApi.as_view(), name="api-comment"),
    path("comments/<int:comment_id>/hide/", api.CommentHideApi.as_view(), name="api-comment-hide"),
    path("reports/", api.ReportListCreateApi.as_view(), name="api-reports"),
    path("reports/<int:report_id>/resolve/", api.ReportResolveApi.as_view(), name="api-report-resolve"),
    path("collections/", api.CollectionListApi.as_view(), name="api-collections"),
    path("collections/<slug:slug>/", api.CollectionDetailApi.as_view(), name="api-collection"),
    path("partners/", api.PartnerListApi.as_view(), name="api-partners"),
    path("partners/<slug:slug>/", api.PartnerDetailApi.as_view(), name="api-partner"),
    path("jobs/<uuid:job_id>/publish/", api.JobPublishApi.as_view(), name="api-job-publish"),
]
