import logging
import sys
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import PasswordResetForm
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token
from django.views.decorators.http import require_http_methods, require_POST

from portal.backends import client_ip, within_hourly_limit
from portal.decorators import role_required
from portal.forms import OneRosterImportForm, PortalPasswordResetForm, RosterImportForm
from portal.http import AuthenticatedHttpRequest
from portal.lib.csvfile import CsvError
from portal.models import (
    PENDING_MAX_AGE,
    ROSTER_ROLES,
    RUN_STUCK_AFTER,
    OneRosterRun,
    OneRosterRunStatus,
    RosterImport,
)
from portal.oneroster import oneroster_run_confirm, oneroster_run_start, schools_to_complete
from portal.services import roster_import

logger = logging.getLogger(__name__)


@login_not_required
@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")


class _RedirectThenRun(HttpResponseRedirect):
    """A redirect that does more work once it has been sent: the server closes a response
    only after its last byte is out, so the visitor does not wait for (or time) that work."""

    def __init__(self, url: str, work: Callable[[], object] | None) -> None:
        super().__init__(url)
        self._work = work

    def close(self) -> None:
        try:
            if self._work is not None:
                self._work()
        except Exception:
            logger.exception("Work after the response failed")
        finally:
            self._work = None
            super().close()


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, limited per hour, and telling nothing about who has an account.

    Known and unknown addresses get the same answer in the same time: the account is looked
    up and the e-mail sent only after the answer has gone out. Over the limit for the typed
    address the answer is the same too and nothing more is sent; over the limit for the
    network address the visitor is asked to wait (that says nothing about any account).
    """

    form_class = PortalPasswordResetForm

    def form_invalid(self, form: PasswordResetForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        request = self.request
        if not within_hourly_limit(
            "password-reset-from", client_ip(request) or "", settings.PASSWORD_RESET_LIMIT_PER_ADDRESS
        ):
            form.add_error(
                None, "Too many requests for a new password have come from your network this hour. Try again later."
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        options = {
            "use_https": request.is_secure(),
            "token_generator": self.token_generator,
            "from_email": self.from_email,
            "email_template_name": self.email_template_name,
            "subject_template_name": self.subject_template_name,
            "request": request,
            "html_email_template_name": self.html_email_template_name,
            "extra_email_context": self.extra_email_context,
        }
        email = form.cleaned_data["email"].strip().lower()
        send = within_hourly_limit("password-reset-to", email, settings.PASSWORD_RESET_LIMIT_PER_EMAIL)
        return _RedirectThenRun(self.get_success_url(), (lambda: form.save(**options)) if send else None)


@role_required(*ROSTER_ROLES)
@require_http_methods(["GET", "POST"])
def roster_import_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    export_sent = request.method == "POST" and "export_file" in request.FILES
    csv_sent = bool({"schools_file", "users_file"} & set(request.FILES))
    if export_sent and not csv_sent:
        # A OneRoster export (.zip) sent here goes the OneRoster way: checked, previewed, imported by jobs.
        return oneroster_import_view(request)
    form = RosterImportForm(request.POST or None, request.FILES or None)
    if export_sent:
        form.add_error(None, "Send either a OneRoster export or the two CSV files, not both: nothing was imported.")
    if request.method == "POST" and form.is_valid():
        schools, users = form.cleaned_data["schools_file"], form.cleaned_data["users_file"]
        try:
            result = roster_import(
                schools_text=schools.text,
                users_text=users.text,
                schools_filename=schools.name,
                users_filename=users.name,
                by=request.user,
            )
        except CsvError as failure:
            form.add_csv_error(failure)
        else:
            messages.success(request, f"Roster imported. {result.summary()}")
            return redirect("roster_import")
    return render(
        request,
        "portal/roster_import.html",
        {"form": form, "imports": _recent_imports()},
        status=400 if request.method == "POST" else 200,
    )


# Imports listed on the roster pages; the admin lists them all.
RECENT_IMPORTS = 10
# Uploads of their own listed on the OneRoster page.
RECENT_RUNS = 5
# How often the page of a run being checked or imported asks again, in seconds.
RUN_REFRESH_SECONDS = 5


def _recent_imports() -> list[RosterImport]:
    return list(RosterImport.objects.select_related("by")[:RECENT_IMPORTS])


def _oneroster_page(request: AuthenticatedHttpRequest, form: OneRosterImportForm, status: int = 200) -> HttpResponse:
    # Their own latest uploads, to go back to one being checked or waiting to be confirmed.
    runs = OneRosterRun.objects.started_by(request.user).defer("preview", "problems")[:RECENT_RUNS]
    context = {
        "form": form,
        "runs": list(runs),
        "imports": _recent_imports(),
        "to_complete": list(schools_to_complete()),
    }
    return render(request, "portal/oneroster_import.html", context, status=status)


@role_required(*ROSTER_ROLES)
@require_http_methods(["GET", "POST"])
def oneroster_import_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload a OneRoster export: it is kept and checked by a job, and its run's page follows the
    check, then shows what the import would change; nothing changes until that is confirmed."""
    form = OneRosterImportForm(request.POST or None, request.FILES or None, by=request.user)
    if request.method != "POST" or not form.is_valid():
        return _oneroster_page(request, form, status=400 if request.method == "POST" else 200)
    upload = form.cleaned_data["export_file"]
    run = oneroster_run_start(
        by=request.user, data=upload.data, file_name=upload.name, district_role=form.cleaned_data["district_role"]
    )
    return redirect("roster_import_oneroster_run", pk=run.pk)


def _get_run_for_user(request: AuthenticatedHttpRequest, pk: int) -> OneRosterRun:
    """A run its starter follows; anyone else's is not found."""
    return get_object_or_404(OneRosterRun.objects.started_by(request.user).select_related("record"), pk=pk)


@role_required(*ROSTER_ROLES)
@require_http_methods(["GET", "HEAD"])
def oneroster_run_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Where an upload is: being checked, its preview to confirm, its problems, being imported, imported."""
    return _run_page(request, _get_run_for_user(request, pk))


def _run_page(request: AuthenticatedHttpRequest, run: OneRosterRun, status: int = 200) -> HttpResponse:
    ended = run.status in (OneRosterRunStatus.REFUSED, OneRosterRunStatus.FAILED) or run.preview_expired
    refreshing = run.is_working and not run.is_stuck and request.GET.get("refresh") != "off"
    context = {
        "run": run,
        "statuses": OneRosterRunStatus,
        # Reloaded while a job works on it, unless its reader asks it to stand still (a screen
        # reader starts again at the top of each reload).
        "refresh_seconds": RUN_REFRESH_SECONDS if refreshing else None,
        "stuck_minutes": int(RUN_STUCK_AFTER.total_seconds()) // 60,
        "valid_minutes": PENDING_MAX_AGE // 60,
        # Upload again, choosing as before: the file itself cannot be put back in the field.
        "form": OneRosterImportForm(initial={"district_role": run.district_role}, by=request.user) if ended else None,
    }
    return render(request, "portal/oneroster_run.html", context, status=status)


@require_POST
@role_required(*ROSTER_ROLES)
def oneroster_confirm_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Have the export imported as the preview its uploader confirms showed; a second confirmation
    (a double click) leads to the same run, importing or imported once."""
    run = _get_run_for_user(request, pk)
    confirmed = oneroster_run_confirm(run=run, by=request.user, fingerprint=request.POST.get("fingerprint", ""))
    if confirmed or run.status in (OneRosterRunStatus.IMPORTING, OneRosterRunStatus.IMPORTED):
        return redirect("roster_import_oneroster_run", pk=run.pk)
    # Expired, refused, or a newer preview than the one confirmed: the page says which.
    return _run_page(request, run, status=409 if run.can_confirm(request.user) else 400)


# SQLSTATEs that mean the server is gone or will not take the connection now: the
# connection exception class, shutdowns, "starting up", and too many connections.
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite's "unable to open database file".
_SQLITE_CANTOPEN = 14


def _is_connection_loss(error: BaseException) -> bool:
    """Whether one exception is the database connection failing, as opposed to the database
    refusing a statement (bad data, a constraint, a bug in a query, a timeout)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    if not names & {"OperationalError", "InterfaceError"}:
        return False
    # Django wraps the driver's exception; the driver's carries the details.
    driver = error.__cause__ if isinstance(error, DatabaseError) and error.__cause__ is not None else error
    sqlstate = getattr(driver, "pgcode", None) or getattr(driver, "sqlstate", None)
    if sqlstate:
        return str(sqlstate).startswith(_OUTAGE_SQLSTATES)
    sqlite_code = getattr(driver, "sqlite_errorcode", None)
    if sqlite_code is not None:
        return sqlite_code & 0xFF == _SQLITE_CANTOPEN
    # No code at all: the driver's own report of a connection that failed or was lost.
    return True


def _is_database_outage(error: BaseException | None) -> bool:
    """Whether `error`, or anything that led to it, is the database not answering.

    Only a lost or refused connection is an outage ("back in a moment"); a value the
    database rejects (DataError, IntegrityError, ...) is a bug to fix, shown as a 500.
    """
    seen = 0
    while error is not None and seen < 10:
        if _is_connection_loss(error):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    """500 page, or a 503 "back soon" page when the database is unreachable.

    Rendered without context processors: they may need the very database that failed.
    """
    if _is_database_outage(sys.exc_info()[1]):
        template = loader.get_template("503.html")
        return HttpResponse(template.render(), status=503, headers={"Retry-After": "10"})
    return HttpResponseServerError(loader.get_template("500.html").render())
