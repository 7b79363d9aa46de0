from django.urls import path

from portal.lib.kept_pages import kept_page
from showcases import views

app_name = "showcases"

urlpatterns = [
    path("", kept_page(views.showcase_list), name="list"),
    path("new/", views.showcase_create, name="create"),
    path("calendar/", views.showcase_month, name="month"),
    path("visits/", views.my_visits, name="my_visits"),
    path("hosting/", views.hosting, name="hosting"),
    path("calendar.ics", views.calendar_feed, name="calendar_feed"),
    path("calendar/reset/", views.calendar_feed_reset, name="calendar_feed_reset"),
    path("<int:pk>/", kept_page(views.showcase_detail), name="detail"),
    path("<int:pk>/edit/", views.showcase_edit, name="edit"),
    path("<int:pk>/cancel/", views.showcase_cancel, name="cancel"),
    path("<int:pk>/attendees.csv", views.attendees_csv, name="attendees_csv"),
    path("sessions/<int:slot_id>/request/", views.visit_request_create, name="request"),
    path("sessions/<int:pk>/cancel/", views.slot_cancel, name="slot_cancel"),
    path("sessions/<int:pk>/meeting/", views.slot_meeting, name="meeting"),
    path("sessions/<int:pk>/debrief/", views.slot_debrief, name="debrief"),
    path("sessions/<int:pk>/attendance/", views.slot_attendance, name="attendance"),
    path("sessions/<int:pk>/message/", views.slot_message, name="message"),
    path("requests/<int:pk>/reflect/", views.visit_reflect, name="reflect"),
    path("requests/<int:pk>/approve/", views.visit_request_approve, name="approve"),
    path("requests/<int:pk>/decline/", views.visit_request_decline, name="decline"),
    path("requests/<int:pk>/cancel/", views.visit_request_cancel, name="request_cancel"),
    path("requests/<int:pk>/calendar.ics", views.visit_calendar_file, name="visit_calendar"),
]
