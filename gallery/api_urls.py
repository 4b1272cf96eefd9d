from django.urls import path

from gallery.api.collections import CollectionDetailApi, CollectionListApi, PartnerDetailApi, PartnerListApi
from gallery.api.comments import CommentDetailApi, CommentHideApi, ItemCommentListCreateApi
from gallery.api.items import HomeworkApi, ItemDetailApi, ItemListCreateApi, ItemVersionListApi
from gallery.api.reports import ReportListCreateApi, ReportResolveApi
from gallery.api.versions import VersionDetailApi, VersionFeatureApi, VersionVoteApi

urlpatterns = [
    path("items/", ItemListCreateApi.as_view(), name="api-items"),
    path("items/<slug:slug>/", ItemDetailApi.as_view(), name="api-item"),
    path("items/<slug:slug>/versions/", ItemVersionListApi.as_view(), name="api-item-versions"),
    path("items/<slug:slug>/homework/", HomeworkApi.as_view(), name="api-item-homework"),
    path("items/<slug:slug>/comments/", ItemCommentListCreateApi.as_view(), name="api-item-comments"),
    path("versions/<uuid:uid>/", VersionDetailApi.as_view(), name="api-version"),
    path("versions/<uuid:uid>/vote/", VersionVoteApi.as_view(), name="api-version-vote"),
    path("versions/<uuid:uid>/feature/", VersionFeatureApi.as_view(), name="api-version-feature"),
    path("comments/<int:comment_id>/", CommentDetailApi.as_view(), name="api-comment"),
    path("comments/<int:comment_id>/hide/", CommentHideApi.as_view(), name="api-comment-hide"),
    path("reports/", ReportListCreateApi.as_view(), name="api-reports"),
    path("reports/<int:report_id>/resolve/", ReportResolveApi.as_view(), name="api-report-resolve"),
    path("collections/", CollectionListApi.as_view(), name="api-collections"),
    path("collections/<slug:slug>/", CollectionDetailApi.as_view(), name="api-collection"),
    path("partners/", PartnerListApi.as_view(), name="api-partners"),
    path("partners/<slug:slug>/", PartnerDetailApi.as_view(), name="api-partner"),
]
