from django.urls import path

from portal.lib.kept_pages import kept_page
from surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.cycle_list, name="list"),
    path("<slug:slug>/respond/", views.respond, name="respond"),
    path("<slug:slug>/dashboard/", kept_page(views.dashboard), name="dashboard"),
    path("<slug:slug>/summary.csv", views.summary_csv, name="summary_csv"),
    path("<slug:slug>/report.pdf", views.report_pdf, name="report"),
    path("<slug:slug>/export.csv", views.export_csv, name="export_csv"),
    path("<slug:slug>/import/", views.import_view, name="import"),
    path("<slug:slug>/imports/<int:pk>/undo/", views.import_undo_view, name="import_undo"),
]
