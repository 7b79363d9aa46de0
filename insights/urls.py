from django.urls import path

from insights import views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.district_dashboard, name="district_dashboard"),
]
