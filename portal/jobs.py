"""Jobs: work that runs outside the request (e-mail, invitations, periodic work).

Jobs are Django Tasks (`@task` functions, from the django-tasks backport of Django 6's
`django.tasks`: moving to Django 6 changes the import and nothing else); settings.TASKS says
where they run (the README's "Jobs"). The Tasks API leaves three things to each project, and
this module is the portal's answer to them:

- `enqueue_on_commit`: a job is enqueued with the change that causes it. A job enqueued in a
  transaction that rolls back never runs; one enqueued in a transaction that commits runs after
  the commit, so it reads what the transaction wrote.
- `retry_later`: a job that failed (a mail server that did not answer) runs again after a pause
  that grows with each attempt, up to `MAX_ATTEMPTS`.
- `PERIODIC_JOBS`: what runs on a schedule, enqueued by `manage.py run_periodic_jobs daily`
  (and `weekly`), which a timer (cron, systemd) runs at the schedule's time.

Jobs are idempotent in their own way (a sent e-mail is marked sent under its key and never sent
again; visit reminders are claimed before they go), since a job may be retried.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import ParamSpec, TypeVar

from django.core.cache import cache
from django.core.management import call_command, get_commands
from django.db import transaction
from django.db.models import Model
from django.utils import timezone
from django_tasks import TaskResult, task
from django_tasks.base import Task
from django_tasks_db import DatabaseBackend

logger = logging.getLogger("portal.jobs")

P = ParamSpec("P")
T = TypeVar("T")

# The pause before each next attempt of a job that failed: one minute, then five, half an hour,
# two hours and eight. A mail server down for an afternoon loses nothing; one down for good
# gives up after about ten and a half hours.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1


def code_transaction_open(using: str | None = None) -> bool:
    """Whether the code running now has opened a transaction (an atomic block).

    A test case wraps each test in atomic blocks of its own (Django marks them
    `_from_testcase`); they stand for the autocommit a request or command runs in, where
    Django's `on_commit` runs its function at once, so they do not count.
    """
    connection = transaction.get_connection(using)
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _stored_with_the_change(job: Task[P, T]) -> bool:
    """Whether the job's backend stores jobs in the database the change is written to."""
    return isinstance(job.get_backend(), DatabaseBackend)


def enqueue_on_commit(job: Task[P, T], *args: P.args, **kwargs: P.kwargs) -> TaskResult[T] | None:
    """Enqueue `job` with the change being made: it runs only if that change is saved.

    In a transaction, a database queue stores the job in that very transaction (it commits or
    rolls back with the change, so nothing is lost between the two); any other backend is
    handed the job when the transaction commits. Outside a transaction the job is enqueued at
    once. Returns the job's result when it was enqueued now (already run, by the immediate
    backend), None when it waits for the commit.
    """
    if not code_transaction_open() or _stored_with_the_change(job):
        return job.enqueue(*args, **kwargs)
    transaction.on_commit(partial(job.enqueue, *args, **kwargs))
    return None


def save_and_enqueue(record: Model, job: Task[P, T], *args: P.args, **kwargs: P.kwargs) -> TaskResult[T] | None:
    """Save `record` and enqueue `job`, which acts on it, as one change.

    With a database queue both are written in one commit, so a process stopped between the two
    leaves neither a record whose job never runs nor a job without its record; with any other
    backend the job follows the save as `enqueue_on_commit` says.
    """
    if _stored_with_the_change(job):
        with transaction.atomic():
            record.save()
            return job.enqueue(*args, **kwargs)
    record.save()
    return enqueue_on_commit(job, *args, **kwargs)


def retry_later(job: Task[P, T], *args: P.args, **kwargs: P.kwargs) -> bool:
    """Enqueue `job` again, for attempt `kwargs["attempt"]`, after the pause for that attempt.

    False, and nothing is enqueued, when that would be past MAX_ATTEMPTS, or when the backend
    cannot hold a job until later: the immediate backend (development and tests) runs each
    job once, in the request, as mail was sent before there was a queue.
    """
    attempt = kwargs.get("attempt")
    if not isinstance(attempt, int) or not 2 <= attempt <= MAX_ATTEMPTS:
        return False
    if not job.get_backend().supports_defer:
        return False
    job.using(run_after=timezone.now() + RETRY_DELAYS[attempt - 2]).enqueue(*args, **kwargs)
    return True


# What runs on a schedule: management commands, each run as a job (`command_run`) once per
# period. The commands are safe to run twice (reminders are claimed before they are sent), and
# a command that does not exist in this release is skipped (the weekly digest, until it does).
PERIODIC_JOBS: dict[str, tuple[str, ...]] = {
    # Reminders the day before a visit, and invitations to reflect after it; the survey's
    # opening and closing notices; the dashboard's summaries counted again from scratch, in
    # case a write went around them (a bulk load).
    "daily": ("send_visit_reminders", "send_survey_notices", "rebuild_summaries"),
    # The digest of what each person follows.
    "weekly": ("send_digests",),
}


def period_of(schedule: str, now: datetime) -> str:
    """The period `now` falls in for a schedule: a day, or an ISO week (in the portal's time zone)."""
    day = timezone.localtime(now).date()
    if schedule == "weekly":
        year, week, _weekday = day.isocalendar()
        return f"{year}-W{week:02d}"
    return day.isoformat()


def periodic_jobs_enqueue(schedules: list[str], *, now: datetime | None = None) -> list[str]:
    """Enqueue the commands of each schedule, once per period; return the commands enqueued.

    Each schedule's period (its day, its week) is claimed in the cache before its jobs are
    enqueued: with the cache shared by every machine (Redis), timers firing on several machines,
    or a timer run twice, enqueue a period's jobs once.
    """
    now = now or timezone.now()
    known = get_commands()
    enqueued: list[str] = []
    for schedule in schedules:
        period = period_of(schedule, now)
        # Kept a little longer than a week, so a claim outlives its period.
        if not cache.add(f"jobs:periodic:{schedule}:{period}", now.isoformat(), timeout=8 * 24 * 3600):
            continue
        for name in PERIODIC_JOBS[schedule]:
            if name not in known:
                logger.info("Scheduled command %s does not exist in this release; skipped.", name)
                continue
            command_run.enqueue(name)
            enqueued.append(name)
    return enqueued


@task()
def command_run(name: str, attempt: int = 1) -> str:
    """Run a management command as a job; a command that fails is tried again later."""
    try:
        call_command(name)
    except Exception:
        if retry_later(command_run, name, attempt=attempt + 1):
            logger.warning("Scheduled command %s failed (attempt %d); it will run again.", name, attempt, exc_info=True)
            return "retrying"
        raise
    return "done"
