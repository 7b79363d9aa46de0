"""The collections' addresses, under /collections/ (the practices app keeps them: they hold practices)."""

from django.urls import path

from practices import views

app_name = "collections"

urlpatterns = [
    path("", views.collection_list, name="list"),
    path("new/", views.collection_create, name="create"),
    path("<int:pk>/", views.collection_detail, name="detail"),
    path("<int:pk>/edit/", views.collection_edit, name="edit"),
    path("<int:pk>/delete/", views.collection_delete, name="delete"),
    path("<int:pk>/items/<int:item_id>/", views.collection_item, name="item"),
]
