from django.urls import path

from gallery import views

urlpatterns = [
    path("", views.home, name="home"),
    path("gallery/", views.gallery_list, name="gallery"),
    path("items/<slug:slug>/", views.item_detail, name="item"),
    path("items/<slug:slug>/homework/", views.homework_new, name="homework-new"),
    path("items/<slug:slug>/comments/", views.comment_new, name="comment-new"),
    path("items/<slug:slug>/<str:which>/", views.item_media, name="item-media"),
    path("versions/<uuid:uid>/<str:which>/", views.version_media, name="version-media"),
    path("versions/<uuid:uid>/do/<str:action>/", views.version_action, name="version-action"),
    path("comments/<int:comment_id>/<str:action>/", views.comment_action, name="comment-action"),
    path("collections/<slug:slug>/", views.collection_detail, name="collection"),
    path("partners/<slug:slug>/", views.partner_detail, name="partner"),
    path("partners/<slug:slug>/logo/", views.partner_logo, name="partner-logo"),
    path("people/<str:username>/", views.profile, name="profile"),
    path("moderation/", views.moderation, name="moderation"),
]
