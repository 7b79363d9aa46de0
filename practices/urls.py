from django.urls import path

from portal.lib.kept_pages import kept_page
from practices import views

app_name = "practices"

urlpatterns = [
    path("", kept_page(views.practice_list), name="list"),
    path("mine/", views.practice_mine, name="mine"),
    path("new/", views.practice_create, name="create"),
    path("<int:pk>/", kept_page(views.practice_detail), name="detail"),
    path("<int:pk>/edit/", views.practice_edit, name="edit"),
    path("<int:pk>/adapt/", views.practice_adapt, name="adapt"),
    path("<int:pk>/history/", views.practice_history_view, name="history"),
    path("<int:pk>/history/<int:version_id>/restore/", views.practice_restore, name="restore"),
    path("<int:pk>/adopt/", views.practice_adopt, name="adopt"),
    path("<int:pk>/reports/<int:report_id>/to-failure/", views.adoption_report_failure, name="report_failure"),
    path("<int:pk>/save/", views.practice_save_to_collection, name="save"),
    path("<int:pk>/follow/", views.practice_follow, name="follow"),
    path("follows/<int:follow_id>/delete/", views.follow_delete, name="unfollow"),
    path("<int:pk>/questions/", views.practice_questions, name="questions"),
    path("<int:pk>/questions/<int:question_id>/answer/", views.question_answer, name="question_answer"),
    path("<int:pk>/questions/<int:question_id>/hide/", views.question_hide, name="question_hide"),
    path("<int:pk>/archive/", views.practice_archive, name="archive"),
    path("<int:pk>/unarchive/", views.practice_unarchive, name="unarchive"),
    path("<int:pk>/feature/", views.practice_feature, name="feature"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
]
