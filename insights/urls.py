from django.urls import path

from insights import reports, schools, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.district_dashboard, name="district_dashboard"),
    path("dashboard/report.pdf", reports.district_report, name="district_report"),
    path("schools/<slug:slug>/", schools.school_detail, name="school"),
]
