from django.urls import path

from gallery import views

urlpatterns = [
    path("", views.home, name="home"),
    path("items/<slug:slug>/", views.item_detail, name="item"),
    path("items/<slug:slug>/<str:which>/", views.item_media, name="item-media"),
]
