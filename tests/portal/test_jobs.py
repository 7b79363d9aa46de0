"""Jobs run outside the request (portal.jobs): enqueued with the change that causes them, so a job
enqueued in a transaction that rolls back never runs; retried with backoff; run once. E-mail and
invitations go through them, invitations show staff what became of them, and the schedule
enqueues the periodic jobs once per period.

Each rule is tried with the immediate backend (development, tests) and with the database
backend and its worker (production); on PostgreSQL the worker also runs as its own process."""

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django_tasks import task
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from portal import jobs
from portal.lib.figures import FIGURES_SECONDS, cached_figures
from portal.lib.mail import mail_send, send_quietly
from portal.models import DeliveryStatus, MailDelivery, MailKind
from portal.services import invitations_deliver, invitations_send, roster_import
from showcases.models import RequestStatus, VisitRequest
from tests.factories import PracticeFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

RUNS: list[str] = []


@task()
def note_run(label: str) -> str:
    """A job that says it ran."""
    RUNS.append(label)
    return label


class Rollback(Exception):
    pass


class DownBackend(BaseEmailBackend):
    """A mail server that does not answer."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise ConnectionRefusedError("the mail server does not answer")


@pytest.fixture(autouse=True)
def _no_runs() -> Iterator[None]:
    RUNS.clear()
    yield
    RUNS.clear()


@pytest.fixture
def database_queue(settings, monkeypatch) -> Callable[[], None]:
    """Jobs stored in the database; returns a function that runs the worker until no job is due.

    The worker runs here on the test's own connection, which it must not close between jobs."""
    settings.TASKS = DATABASE_QUEUE
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)

    def run_worker() -> None:
        Worker(
            queue_names=["default"],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id="test-worker",
            excluded_queue_names=[],
        ).run()

    return run_worker


def _enqueue_and_roll_back() -> None:
    with pytest.raises(Rollback), transaction.atomic():
        jobs.enqueue_on_commit(note_run, "rolled back")
        raise Rollback


# -- Enqueued with the change -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs():
    _enqueue_and_roll_back()
    assert RUNS == []


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_in_a_transaction_runs_once_it_commits():
    with transaction.atomic():
        jobs.enqueue_on_commit(note_run, "committed")
        assert RUNS == []
    assert RUNS == ["committed"]


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_in_a_rolled_back_transaction_never_reaches_the_database_queue(database_queue):
    _enqueue_and_roll_back()
    assert not DBTaskResult.objects.exists()
    database_queue()
    assert RUNS == []


@pytest.mark.django_db(transaction=True)
def test_the_database_queue_stores_a_job_with_its_change_and_the_worker_runs_it_once(database_queue):
    with transaction.atomic():
        TeacherFactory(username="new-teacher")
        jobs.enqueue_on_commit(note_run, "committed")
    assert DBTaskResult.objects.get().task_path == "tests.portal.test_jobs.note_run"
    assert RUNS == []
    database_queue()
    database_queue()
    assert RUNS == ["committed"]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_in_a_test_case_transaction_a_job_runs_at_once_as_in_autocommit():
    """A test's own atomic block stands for autocommit: a request that opens no transaction."""
    jobs.enqueue_on_commit(note_run, "at once")
    assert RUNS == ["at once"]


def test_in_a_transaction_a_job_waits_for_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        jobs.enqueue_on_commit(note_run, "after")
        assert RUNS == []
    assert RUNS == ["after"]


# -- E-mail -----------------------------------------------------------------------------------


def _message(subject: str = "Hello") -> EmailMessage:
    return EmailMessage(subject, "Body", to=["a@example.org"])


@pytest.mark.django_db(transaction=True)
def test_mail_of_a_rolled_back_change_is_never_sent():
    with pytest.raises(Rollback), transaction.atomic():
        send_quietly(_message())
        raise Rollback
    assert mail.outbox == []
    assert not MailDelivery.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_mail_is_sent_once_its_change_commits_and_is_marked_sent():
    with transaction.atomic():
        assert send_quietly(_message())
        assert mail.outbox == []
    assert [message.subject for message in mail.outbox] == ["Hello"]
    delivery = MailDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.kind) == (DeliveryStatus.SENT, 1, MailKind.NOTICE)
    assert delivery.message == {}, "a sent message (it may hold a sign-in link) is not kept"


def test_a_delivery_is_sent_once_however_often_its_job_runs():
    send_quietly(_message())
    delivery = MailDelivery.objects.get()
    assert mail_send.call(str(delivery.key)) == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_the_worker_sends_what_the_request_built(database_queue):
    """Attachments, headers and every address survive the queue."""
    message = EmailMessage(
        "Visit\nconfirmed", "Body", to=["a@example.org"], cc=["c@example.org"], reply_to=["host@example.org"]
    )
    message.attach("visit.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    message.attach("photo.png", b"\x89PNG\r\n\x1a\n\x00", "image/png")
    send_quietly(message)
    assert mail.outbox == []
    database_queue()
    (sent,) = mail.outbox
    assert (sent.subject, sent.to, sent.cc, sent.reply_to) == (
        "Visit confirmed",
        ["a@example.org"],
        ["c@example.org"],
        ["host@example.org"],
    )
    assert sent.from_email == django_settings.DEFAULT_FROM_EMAIL
    assert [(name, content, kind) for name, content, kind in sent.attachments] == [
        ("visit.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar"),
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00", "image/png"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_delivery_and_its_job_are_stored_together_or_not_at_all(database_queue, monkeypatch):
    """Outside any transaction (a command, a worker), a process stopped between saving the
    delivery and storing its job must not leave a delivery that is never sent."""

    def stopped(*args: object, **kwargs: object) -> None:
        raise SystemExit("the process is stopped")

    with monkeypatch.context() as patched, pytest.raises(SystemExit):
        patched.setattr(type(mail_send), "enqueue", stopped)
        send_quietly(EmailMessage("Visit confirmed", "Body", to=["a@example.org"]))
    assert not MailDelivery.objects.exists()
    send_quietly(EmailMessage("Visit confirmed", "Body", to=["a@example.org"]))
    assert MailDelivery.objects.get().status == DeliveryStatus.QUEUED
    database_queue()
    assert [sent.subject for sent in mail.outbox] == ["Visit confirmed"]


def test_a_send_that_fails_is_retried_with_growing_pauses_then_marked_failed(database_queue, settings, caplog):
    settings.EMAIL_BACKEND = "tests.portal.test_jobs.DownBackend"
    send_quietly(_message("Reminder"))
    pauses = []
    with caplog.at_level("WARNING", logger="portal.lib.mail"):
        for attempt in range(1, jobs.MAX_ATTEMPTS + 1):
            started = timezone.now()
            database_queue()
            delivery = MailDelivery.objects.get()
            assert delivery.attempts == attempt
            waiting = DBTaskResult.objects.filter(status="READY")
            if attempt < jobs.MAX_ATTEMPTS:
                assert delivery.status == DeliveryStatus.QUEUED and "does not answer" in delivery.error
                (retry,) = waiting
                assert retry.args_kwargs["kwargs"] == {"attempt": attempt + 1}
                pauses.append(retry.run_after - started)
                # The pause is over.
                waiting.update(run_after=timezone.now() - timedelta(seconds=1))
            else:
                assert not waiting.exists()
    assert delivery.status == DeliveryStatus.FAILED and mail.outbox == []
    assert [round(pause / timedelta(minutes=1)) for pause in pauses] == [1, 5, 30, 120, 480]
    errors = [record for record in caplog.records if record.levelname == "ERROR"]
    assert [record.getMessage() for record in errors] == ["Could not send e-mail 'Reminder' to a@example.org"]


def test_with_the_immediate_backend_a_failed_send_is_not_retried(settings):
    """Development and tests run each job once, in the request, as mail was sent before."""
    settings.EMAIL_BACKEND = "tests.portal.test_jobs.DownBackend"
    assert send_quietly(_message()) is False
    delivery = MailDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)


# -- Invitations ------------------------------------------------------------------------------

SCHOOLS = "slug,name,level,enrollment,frl_percent,locale\noak,Oak Elementary,elementary,410,62,city\n"
USERS = (
    "email,first_name,last_name,role,school\n"
    "ada@district.org,Ada,Lovelace,teacher,oak\n"
    "grace@district.org,Grace,Hopper,principal,oak\n"
)


def _invitation_column(client, **filters: str) -> dict[str, str]:
    """Each person's e-mail and invitation state, as the people list in the admin shows them."""
    response = client.get("/admin/portal/user/", filters)
    assert response.status_code == 200
    changelist = response.context["cl"]
    return {person.email: changelist.model_admin.invitation(person) for person in changelist.result_list}


def test_an_import_queues_invitations_the_worker_sends_and_staff_see_each_state(as_user, staff, database_queue):
    roster_import(schools_text=SCHOOLS, users_text=USERS)
    invited = MailDelivery.objects.invitations().values_list("person__email", "status")
    assert set(invited) == {
        ("ada@district.org", DeliveryStatus.QUEUED),
        ("grace@district.org", DeliveryStatus.QUEUED),
    }
    client = as_user(staff)
    queued = _invitation_column(client, invitation="queued")
    assert set(queued) == {"ada@district.org", "grace@district.org"}
    assert all(state.startswith("Queued ") for state in queued.values())
    assert mail.outbox == []
    database_queue()
    assert sorted(message.to[0] for message in mail.outbox) == ["ada@district.org", "grace@district.org"]
    sent = _invitation_column(client, invitation="sent")
    assert set(sent) == {"ada@district.org", "grace@district.org"}
    assert all(state.startswith("Sent ") for state in sent.values())
    assert _invitation_column(client, invitation="queued") == {}


def test_an_invitation_that_failed_shows_failed_and_staff_can_send_it_again(as_user, staff, settings):
    settings.EMAIL_BACKEND = "tests.portal.test_jobs.DownBackend"
    person = TeacherFactory(username="ada", email="ada@district.org", last_login=None)
    assert invitations_send(users=[person]) == 0
    client = as_user(staff)
    assert _invitation_column(client, invitation="failed")["ada@district.org"].startswith("Failed ")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = client.post(
        "/admin/portal/user/", {"action": "resend_invitation", "_selected_action": [str(person.pk)]}, follow=True
    )
    assert "1 invitations queued." in response.content.decode()
    assert [message.to for message in mail.outbox] == [["ada@district.org"]]
    assert _invitation_column(client)["ada@district.org"].startswith("Sent ")
    assert list(MailDelivery.objects.invitations().values_list("status", flat=True)) == ["sent", "failed"]


def test_staff_list_people_who_never_signed_in_and_resend_only_to_them(as_user, staff, teacher):
    never = TeacherFactory(username="never", last_login=None)
    teacher.last_login = timezone.now()
    teacher.save(update_fields=["last_login"])
    client = as_user(staff)
    listed = _invitation_column(client, signed_in="never")
    assert never.email in listed and teacher.email not in listed
    response = client.post(
        "/admin/portal/user/",
        {"action": "resend_invitation", "_selected_action": [str(never.pk), str(teacher.pk)]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 invitations queued." in page and "1 not invited: they have signed in already" in page
    assert [message.to for message in mail.outbox] == [[never.email]]


def test_someone_deactivated_before_the_worker_runs_is_not_invited(teacher, database_queue):
    invitations_send(users=[teacher])
    teacher.is_active = False
    teacher.save(update_fields=["is_active"])
    database_queue()
    assert mail.outbox == []
    delivery = MailDelivery.objects.invitations().get()
    assert (delivery.status, delivery.error) == (DeliveryStatus.FAILED, "Deactivated before the invitation was sent.")


def test_invitations_are_built_once_however_often_their_job_runs(teacher):
    invitations_send(users=[teacher])
    (delivery,) = MailDelivery.objects.invitations()
    assert invitations_deliver.call([str(delivery.key)]) == 0
    assert len(mail.outbox) == 1


# -- The schedule -----------------------------------------------------------------------------


def test_the_daily_schedule_sends_visit_reminders_once_a_day(principal, other_teacher, capsys):
    tomorrow = timezone.now() + timedelta(days=1)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=tomorrow, ends_at=tomorrow + timedelta(hours=2))
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    call_command("run_periodic_jobs", "daily")
    call_command("run_periodic_jobs", "daily")
    assert [message.to for message in mail.outbox if message.subject.startswith("Tomorrow")] == [[other_teacher.email]]
    assert "Nothing due." in capsys.readouterr().out


def test_each_period_is_enqueued_once_and_a_missing_command_is_skipped(database_queue, monkeypatch):
    monkeypatch.setitem(jobs.PERIODIC_JOBS, "weekly", ("send_visit_reminders", "no_such_command"))
    monday = timezone.make_aware(datetime(2026, 3, 2, 6, 0))
    assert jobs.periodic_jobs_enqueue(["weekly"], now=monday) == ["send_visit_reminders"]
    assert jobs.periodic_jobs_enqueue(["weekly"], now=monday + timedelta(days=6)) == []
    assert jobs.periodic_jobs_enqueue(["weekly"], now=monday + timedelta(days=7)) == ["send_visit_reminders"]
    assert DBTaskResult.objects.filter(task_path="portal.jobs.command_run").count() == 2


# -- Dashboard recounts ---------------------------------------------------------------------------

COUNTS: list[int] = []


def count_figures(school: int, level: str, start: str | None) -> int:
    """A page's figures, for a scope: how many times they were counted."""
    COUNTS.append(school)
    return len(COUNTS)


@pytest.fixture
def figures_grow_old(monkeypatch) -> Callable[[], datetime]:
    """Moves the clock past the time figures are kept fresh; returns the new time."""
    COUNTS.clear()

    def later() -> datetime:
        moved = timezone.now() + timedelta(seconds=FIGURES_SECONDS + 1)
        monkeypatch.setattr(timezone, "now", lambda: moved)
        return moved

    return later


def _dashboard() -> tuple[int, datetime]:
    return cached_figures("test", (7, "middle", None), lambda: count_figures(7, "middle", None), recount=count_figures)


def test_old_figures_are_counted_again_by_a_job(figures_grow_old):
    """With the immediate backend the job runs at once, and the page shows its count."""
    assert _dashboard()[0] == 1
    assert _dashboard()[0] == 1
    later = figures_grow_old()
    assert _dashboard() == (2, later)
    assert COUNTS == [7, 7]


def test_a_worker_counts_old_figures_again_while_readers_see_the_copy(
    figures_grow_old, database_queue, settings, tmp_path
):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    first, counted_at = _dashboard()
    later = figures_grow_old()
    assert _dashboard() == (first, counted_at) == _dashboard()
    assert DBTaskResult.objects.filter(task_path="portal.lib.figures.figures_recount").count() == 1
    database_queue()
    assert _dashboard() == (2, later)


def test_the_district_dashboard_is_recounted_by_a_worker_once_its_figures_are_old(
    as_user, leader, teacher, figures_grow_old, database_queue, settings, tmp_path
):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(tmp_path)}
    }
    client = as_user(leader)
    published = client.get("/dashboard/").context["d"].totals["published"]
    PracticeFactory(author=teacher)
    figures_grow_old()
    assert client.get("/dashboard/").context["d"].totals["published"] == published
    database_queue()
    assert client.get("/dashboard/").context["d"].totals["published"] == published + 1


def test_with_a_cache_of_its_own_the_page_counts_old_figures_itself(figures_grow_old, database_queue):
    """A worker's count would land in the worker's own memory, which no page reads."""
    assert _dashboard()[0] == 1
    figures_grow_old()
    assert _dashboard()[0] == 2
    assert not DBTaskResult.objects.exists()


# -- The worker as its own process (PostgreSQL) -------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the worker process needs the test database on a server")
def test_the_database_worker_process_sends_a_queued_mail_once(database_queue):
    with transaction.atomic():
        send_quietly(_message("From the worker"))
    delivery = MailDelivery.objects.get()
    assert delivery.status == DeliveryStatus.QUEUED
    database = connection.settings_dict
    login = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    environment = {
        **os.environ,
        "DJANGO_DEBUG": "true",
        "JOBS_BACKEND": "database",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "DATABASE_URL": f"postgres://{login}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
    }
    command = [
        sys.executable,
        str(Path(django_settings.BASE_DIR) / "manage.py"),
        "db_worker",
        "--batch",
        "--no-startup-delay",
        "--no-reload",
    ]
    outputs = [
        subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60, check=True).stdout
        for _ in range(2)
    ]
    assert [output.count("Subject: From the worker") for output in outputs] == [1, 0]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
