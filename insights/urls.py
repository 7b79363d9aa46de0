from django.urls import path

from insights import reports, schools, views
from portal.lib.kept_pages import kept_page

urlpatterns = [
    path("", kept_page(views.home), name="home"),
    path("dashboard/", kept_page(views.district_dashboard), name="district_dashboard"),
    path("dashboard/report.pdf", reports.district_report, name="district_report"),
    path("schools/<slug:slug>/", schools.school_detail, name="school"),
]
