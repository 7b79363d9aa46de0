from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Prefetch, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods, require_POST

from portal.decorators import role_required
from portal.forms import EARLIEST_DATE, LATEST_DATE
from portal.http import AuthenticatedHttpRequest
from portal.lib.csvfile import csv_response
from portal.lib.kept import kept_html, kept_keys
from portal.lib.pagination import CappedPaginator
from portal.naming import display_name, person_label
from practices.models import Practice
from showcases import services
from showcases.calendar import feed_ics, visit_ics
from showcases.calendar_links import google_calendar_url, outlook_calendar_url, webcal_url
from showcases.filters import ShowcaseFilter
from showcases.forms import (
    AttendanceForm,
    ConfirmCancelForm,
    DebriefForm,
    HostNoteForm,
    MeetingFilterForm,
    MeetingForm,
    ReflectionForm,
    SessionMessageForm,
    ShowcaseForm,
    VisitRequestForm,
    VisitSlotFormSet,
    session_rows_change,
)
from showcases.inbox import AwaitingDecisions, host_inbox, hosted_sessions, with_approved_visits, with_request_counts
from showcases.models import (
    HOST_ROLES,
    Attendance,
    CalendarFeed,
    RequestStatus,
    Showcase,
    ShowcaseQuerySet,
    VisitorReflection,
    VisitRequest,
    VisitSlot,
    can_host,
)


def _get_showcase_for_user(
    request: AuthenticatedHttpRequest, pk: int, queryset: ShowcaseQuerySet | None = None
) -> Showcase:
    """A showcase the reader may see, or 404."""
    base = queryset if queryset is not None else Showcase.objects.select_related("host", "host_school")
    return get_object_or_404(base.visible_to(request.user), pk=pk)


def _get_manageable_showcase_for_user(request: AuthenticatedHttpRequest, pk: int) -> Showcase:
    """A showcase the reader manages: 404 if they may not see it, 403 if they may not manage it."""
    showcase = _get_showcase_for_user(request, pk)
    if not showcase.can_manage(request.user):
        raise PermissionDenied
    return showcase


def _get_editable_showcase_for_user(request: AuthenticatedHttpRequest, pk: int) -> Showcase:
    """A showcase the reader may edit: 404 if they may not see it, 403 if they may not edit it."""
    showcase = _get_showcase_for_user(request, pk)
    if not showcase.can_edit(request.user):
        raise PermissionDenied
    return showcase


def _get_slot_for_user(request: AuthenticatedHttpRequest, pk: int) -> VisitSlot:
    """A session of a showcase the reader may see, or 404."""
    return get_object_or_404(
        VisitSlot.objects.select_related("showcase"), pk=pk, showcase__in=Showcase.objects.visible_to(request.user)
    )


def _get_manageable_slot_for_user(request: AuthenticatedHttpRequest, pk: int) -> VisitSlot:
    """A session the reader manages: 404 if they may not see it, 403 if they may not manage it."""
    slot = _get_slot_for_user(request, pk)
    if not slot.showcase.can_manage(request.user):
        raise PermissionDenied
    return slot


def _get_debrief_for_user(request: AuthenticatedHttpRequest, pk: int) -> tuple[VisitSlot, list[VisitRequest]]:
    """A session and its approved visits, if the reader may read its debrief (404 otherwise).
    A POST writes the debrief notes: 403 for a reader who may not write them."""
    user = request.user
    slot = get_object_or_404(
        VisitSlot.objects.select_related("showcase", "showcase__host", "showcase__host_school"),
        pk=pk,
        showcase__in=Showcase.objects.visible_to(user),
    )
    visits = list(
        slot.requests.filter(status=RequestStatus.APPROVED).select_related(
            "requester", "requester__school", "reflection", "reflection__practice", "reflection__adoption"
        )
    )
    if not slot.can_read_debrief(user, attended=any(visit.is_requested_by(user) for visit in visits)):
        raise Http404
    if request.method == "POST" and not slot.can_debrief(user):
        raise PermissionDenied
    return slot, visits


def _get_visit_for_user(request: AuthenticatedHttpRequest, pk: int) -> VisitRequest:
    """A visit request the reader may see (its requester, those who manage the showcase), or 404."""
    return get_object_or_404(
        VisitRequest.objects.visible_to(request.user).select_related(
            "slot", "slot__showcase", "slot__showcase__host_school", "slot__showcase__host", "requester"
        ),
        pk=pk,
    )


def _get_manageable_visit_for_user(request: AuthenticatedHttpRequest, pk: int) -> VisitRequest:
    """A visit request the reader decides: 404 if they may not see it, 403 if they may not decide it."""
    visit = _get_visit_for_user(request, pk)
    if not visit.can_decide(request.user):
        raise PermissionDenied
    return visit


def _get_own_visit_for_user(request: AuthenticatedHttpRequest, pk: int) -> VisitRequest:
    """The reader's own visit request: 404 if they may not see it, 403 if it is not theirs."""
    visit = _get_visit_for_user(request, pk)
    if not visit.is_requested_by(request.user):
        raise PermissionDenied
    return visit


PAGE_SIZE = 20
# The filters' choices come from vocabularies that change in the admin (subjects, grade bands);
# every one of them is part of the kept panel's key. Schools are typed, not listed.
PANEL_TEMPLATE = "showcases/_filters.html"
PANEL_SECONDS = 60 * 60


CARD_TEMPLATE = "showcases/_card.html"
CARD_SECONDS = 60 * 60


class _Session(NamedTuple):
    starts_at: datetime
    ends_at: datetime
    seats_left: int
    capacity: int


@dataclass(frozen=True)
class _Card:
    """Everything a showcase's card on the list shows (its key in the cache)."""

    pk: int
    title: str
    school: str
    host: str
    focus_question: str
    sessions: tuple[_Session, ...]


def _cards(showcases: Iterable[Showcase]) -> SafeString:
    """The cards of `showcases` (read with their schools, hosts and `upcoming` sessions), each
    from the cache when it was drawn before as it reads now."""
    showcases = list(showcases)
    cards = [
        _Card(
            showcase.pk,
            showcase.title,
            showcase.host_school.name,
            display_name(showcase.host),
            showcase.focus_question,
            tuple(
                _Session(s.starts_at, s.ends_at, s.seats_left, s.capacity) for s in getattr(showcase, "upcoming", ())
            ),
        )
        for showcase in showcases
    ]
    keys = kept_keys("showcases:card", CARD_TEMPLATE, cards)
    kept: dict[str, str] = cache.get_many(keys)
    drawn: dict[str, str] = {}
    parts = []
    for showcase, card, key in zip(showcases, cards, keys, strict=True):
        html = kept.get(key) or drawn.get(key)
        if html is None:
            html = drawn[key] = render_to_string(CARD_TEMPLATE, {"card": card, "url": showcase.get_absolute_url()})
        parts.append(html)
    if drawn:
        cache.set_many(drawn, CARD_SECONDS)
    # Drawn by the card's template (autoescaped); nothing else is joined in.
    return SafeString("".join(parts))  # nosec B703


def _filter_panel(showcase_filter: ShowcaseFilter, *, cleared: bool) -> SafeString:
    """The list's filters, drawn once per set of choices, chosen values and errors."""
    form = showcase_filter.form
    values: list[object] = [cleared]
    for field in form:
        choices = getattr(field.field.widget, "choices", ())
        values.append(
            (
                field.name,
                [(str(value), str(label)) for value, label in choices],
                field.value(),
                [str(error) for error in field.errors],
            )
        )
    return kept_html(
        "showcases:filters",
        PANEL_TEMPLATE,
        values,
        lambda: render_to_string(PANEL_TEMPLATE, {"filter": showcase_filter, "cleared": cleared}),
        PANEL_SECONDS,
    )


@require_http_methods(["GET", "HEAD"])
def showcase_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    upcoming_slots = VisitSlot.objects.filter(starts_at__gt=now, cancelled_at__isnull=True).order_by("starts_at")
    first_to_come = upcoming_slots.filter(showcase=OuterRef("pk"))
    visible = Showcase.objects.visible_to(request.user).published()
    showcase_filter = ShowcaseFilter(request.GET or None, queryset=visible, request=request)
    chosen = showcase_filter.qs if not showcase_filter.is_bound or showcase_filter.is_valid() else visible.none()
    # Counted up to COUNT_LIMIT + 1 (past that the page says "more than 1,000"), so neither the
    # count nor the page costs more in a larger district.
    page = CappedPaginator(chosen.filter(Exists(first_to_come)).order_by("pk"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # The page's showcases are picked by walking the sessions to come in time order, keeping each
    # chosen showcase's first one, and stopping once the page is full: a page costs the same
    # however many showcases and sessions the district has. Only they are then read with their
    # schools, hosts and sessions.
    first = (page.number - 1) * PAGE_SIZE
    earlier = upcoming_slots.filter(showcase=OuterRef("showcase")).filter(
        Q(starts_at__lt=OuterRef("starts_at")) | Q(starts_at=OuterRef("starts_at"), pk__lt=OuterRef("pk"))
    )
    by_next_session = (
        upcoming_slots.filter(Exists(chosen.filter(pk=OuterRef("showcase"))), ~Exists(earlier))
        .order_by("starts_at", "showcase")
        .values("showcase")[first : first + PAGE_SIZE]
    )
    page.object_list = list(
        Showcase.objects.filter(pk__in=by_next_session)
        .annotate(next_session=Subquery(first_to_come.values("starts_at")[:1]))
        .select_related("host_school", "host")
        # What the cards show, and no more.
        .only("title", "focus_question", "host_school__name", "host__first_name", "host__last_name", "host__username")
        .prefetch_related(
            Prefetch(
                "slots",
                queryset=upcoming_slots.only("showcase", "starts_at", "ends_at", "capacity", "seats_taken"),
                to_attr="upcoming",
            )
        )
        .order_by("next_session", "pk")
    )
    return render(
        request,
        "showcases/list.html",
        {
            "showcases": page.object_list,
            "cards": _cards(page.object_list),
            "page": page,
            "filter": showcase_filter,
            "filter_panel": _filter_panel(showcase_filter, cleared=bool(request.GET)),
            "can_host": can_host(request.user),
        },
    )


@require_http_methods(["GET", "HEAD"])
def showcase_month(request: AuthenticatedHttpRequest) -> HttpResponse:
    """A month calendar of sessions, as an accessible table."""
    today = timezone.localdate()
    try:
        year, month = (int(part) for part in request.GET.get("month", "").split("-"))
        first = date(year, month, 1)
        if not EARLIEST_DATE <= first <= LATEST_DATE:
            raise ValueError(first)
    except (ValueError, OverflowError):
        if request.GET.get("month"):
            messages.warning(
                request,
                f"Choose a month as YYYY-MM between {EARLIEST_DATE.year} and {LATEST_DATE.year}; here is this month.",
            )
        first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    zone = timezone.get_current_timezone()
    slots = (
        VisitSlot.objects.filter(
            showcase__in=Showcase.objects.visible_to(request.user).published(),
            starts_at__gte=datetime.combine(first, time.min, zone),
            starts_at__lt=datetime.combine(following, time.min, zone),
        )
        .select_related("showcase", "showcase__host_school")
        .order_by("starts_at")
    )
    by_day: dict[date, list[VisitSlot]] = {}
    for slot in slots:
        by_day.setdefault(timezone.localtime(slot.starts_at).date(), []).append(slot)
    weeks = [
        [
            {"date": day, "in_month": day.month == first.month, "slots": by_day.get(day, []), "today": day == today}
            for day in week
        ]
        for week in calendar.Calendar(firstweekday=6).monthdatescalendar(first.year, first.month)
    ]
    previous = (first - timedelta(days=1)).replace(day=1)
    return render(
        request,
        "showcases/month.html",
        {
            "first": first,
            "weeks": weeks,
            # The same sessions as a list of days, which narrow screens show instead of the grid.
            "agenda": [(day, day_slots) for day, day_slots in sorted(by_day.items()) if day.month == first.month],
            "previous": previous,
            "following": following,
            "weekdays": ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        },
    )


@require_http_methods(["GET", "HEAD"])
def showcase_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    user = request.user
    showcase = _get_showcase_for_user(
        request,
        pk,
        Showcase.objects.select_related("host", "host_school").prefetch_related(
            # Only the entries this reader may open: a school-only entry stays in its school.
            Prefetch(
                "practices", queryset=Practice.objects.visible_to(user).order_by("title"), to_attr="readable_practices"
            ),
            Prefetch(
                "slots",
                queryset=VisitSlot.objects.select_related("meeting_convener").prefetch_related(
                    Prefetch(
                        "requests",
                        queryset=VisitRequest.objects.with_waitlist_place().select_related(
                            "requester", "requester__school"
                        ),
                    )
                ),
            ),
        ),
    )
    managing = showcase.can_manage(user)
    slots = []
    for slot in showcase.slots.all():
        requests = list(slot.requests.all())
        mine = next((r for r in requests if r.is_requested_by(user) and r.is_active), None)
        slots.append(
            {
                "slot": slot,
                "requests": requests if managing else [],
                "waiting": [r for r in requests if r.is_waitlisted],
                "mine": mine,
                "can_read_debrief": slot.can_read_debrief(user, attended=mine is not None and mine.is_approved),
                "can_convene": slot.can_convene(user),
                "can_check_in": managing and slot.can_check_in(user),
                "can_message": managing and slot.can_message(user) and slot.seats_taken > 0,
                "form": VisitRequestForm(slot=slot, prefix=f"slot{slot.pk}")
                if not managing and mine is None and slot.can_request(user)
                else None,
            }
        )
    return render(
        request,
        "showcases/detail.html",
        {"showcase": showcase, "slots": slots, "managing": managing, "note_form": HostNoteForm()},
    )


def _showcase_form_page(request: AuthenticatedHttpRequest, showcase: Showcase | None) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        rows = session_rows_change(request.POST, request.POST.get("action", ""))
        data = request.POST if rows is None else rows[0]
        form = ShowcaseForm(data, instance=showcase, user=user)
        slots = VisitSlotFormSet(data, instance=form.instance, prefix="slots")
        if rows is not None:
            # A session added, copied a week later or removed without JavaScript: the page
            # again with everything typed, nothing saved yet.
            context = {"form": form, "slots": slots, "showcase": showcase, "rows_message": rows[1]}
            return render(request, "showcases/form.html", context)
        if form.is_valid() and slots.is_valid():
            try:
                saved = services.showcase_save(
                    form=form, slots=slots, user=user, publish=request.POST.get("action") == "publish"
                )
            except ValidationError:
                pass  # what changed meanwhile is marked on the forms, shown again below
            else:
                messages.success(
                    request,
                    "Published: colleagues can now request seats." if saved.is_published else "Saved as a draft.",
                )
                return redirect(saved)
        status = 400
    else:
        form = ShowcaseForm(instance=showcase, user=user)
        slots = VisitSlotFormSet(instance=form.instance, prefix="slots")
        status = 200
    return render(request, "showcases/form.html", {"form": form, "slots": slots, "showcase": showcase}, status=status)


@require_http_methods(["GET", "POST"])
@role_required(*HOST_ROLES)
def showcase_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _showcase_form_page(request, None)


@require_http_methods(["GET", "POST"])
def showcase_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _showcase_form_page(request, _get_editable_showcase_for_user(request, pk))


def _confirmation(request: AuthenticatedHttpRequest) -> ConfirmCancelForm:
    """The form of a confirmation page: unbound on GET; a POST is confirmed only when it
    comes from that page (a POST without `confirm` shows the page, with the reason kept)."""
    return ConfirmCancelForm(request.POST if request.method == "POST" else None)


@require_http_methods(["GET", "POST"])
def showcase_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Cancelling a showcase asks first, on a page that says which sessions go and who is told."""
    showcase = _get_manageable_showcase_for_user(request, pk)
    if showcase.is_cancelled:
        messages.info(request, "This showcase is already cancelled.")
        return redirect(showcase)
    form = _confirmation(request)
    if form.confirmed():
        services.showcase_cancel(showcase=showcase, reason=form.cleaned_data["reason"])
        messages.success(request, "Showcase cancelled. Everyone with a request has been told.")
        return redirect(showcase)
    now = timezone.now()
    context = {
        "showcase": showcase,
        "form": form,
        "sessions": list(showcase.slots.filter(cancelled_at__isnull=True, starts_at__gt=now)),
        "told": list(
            VisitRequest.objects.active()
            .filter(slot__showcase=showcase, slot__cancelled_at__isnull=True, slot__starts_at__gt=now)
            .select_related("requester", "requester__school", "slot")
            .order_by("slot__starts_at", "pk")
        ),
    }
    return render(request, "showcases/confirm_showcase_cancel.html", context, status=400 if form.errors else 200)


def _request_sent_message(visit: VisitRequest) -> str:
    if visit.is_approved:
        return "You have a seat. A calendar invitation is on its way by e-mail."
    if visit.is_waitlisted:
        return "The session is full, so you are on the waiting list. You will hear if a seat opens."
    return "Request sent. The host will approve or decline it."


@require_POST
def visit_request_create(request: AuthenticatedHttpRequest, slot_id: int) -> HttpResponse:
    slot = _get_slot_for_user(request, slot_id)
    form = VisitRequestForm(request.POST, slot=slot, prefix=f"slot{slot.pk}")
    if form.is_valid():
        try:
            visit = services.visit_request_create(
                slot=slot,
                requester=request.user,
                seats=form.cleaned_data["seats"],
                message=form.cleaned_data["message"],
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(None if field == "__all__" else field, problems)
        else:
            messages.success(request, _request_sent_message(visit))
            return redirect(slot.showcase)
    return render(
        request, "showcases/request_form.html", {"form": form, "slot": slot, "showcase": slot.showcase}, status=400
    )


# Pages a decision may be taken from besides the showcase's own, by the name the form sends.
DECISION_PAGES = {"home": "home", "hosting": "showcases:hosting"}


def _after_decision(request: AuthenticatedHttpRequest, showcase: Showcase) -> HttpResponse:
    """Back to the page the host decided on: their home page, "Sessions I host" or the showcase."""
    page = DECISION_PAGES.get(request.POST.get("back", ""))
    return redirect(page) if page else redirect(showcase)


def _host_note(request: AuthenticatedHttpRequest) -> str:
    form = HostNoteForm(request.POST)
    return form.cleaned_data["note"] if form.is_valid() else ""


@require_POST
def visit_request_approve(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = _get_manageable_visit_for_user(request, pk)
    showcase = visit.slot.showcase
    try:
        visit = services.visit_request_approve(visit=visit, note=_host_note(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Approved: {person_label(visit.requester, reader=request.user)} has a seat and is told by e-mail."
            if visit.is_approved
            else "No seats left: the request is on the waiting list.",
        )
    return _after_decision(request, showcase)


@require_POST
def visit_request_decline(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = _get_manageable_visit_for_user(request, pk)
    showcase = visit.slot.showcase
    try:
        services.visit_request_decline(visit=visit, note=_host_note(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Declined. The visitor has been told.")
    return _after_decision(request, showcase)


@require_http_methods(["GET", "POST"])
def visit_request_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A visitor cancels their own request or seats, once they confirm on a page that says who is told."""
    visit = _get_own_visit_for_user(request, pk)
    if not visit.is_active:
        messages.info(request, "This request is no longer active: there is nothing to cancel.")
        return redirect("showcases:my_visits")
    form = _confirmation(request)
    if form.confirmed():
        try:
            services.visit_request_cancel(visit=visit, reason=form.cleaned_data["reason"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(visit.slot.showcase)
        messages.success(
            request, "Your request is cancelled. Your seat, if you had one, went to the next person waiting."
        )
        return redirect("showcases:my_visits")
    context = {"visit": visit, "slot": visit.slot, "showcase": visit.slot.showcase, "form": form}
    return render(request, "showcases/confirm_visit_cancel.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def slot_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The host cancels a session once they confirm on a page that lists who is told."""
    slot = _get_manageable_slot_for_user(request, pk)
    if slot.is_cancelled:
        messages.info(request, "This session is already cancelled.")
        return redirect(slot.showcase)
    form = _confirmation(request)
    if form.confirmed():
        services.slot_cancel(slot=slot, reason=form.cleaned_data["reason"])
        messages.success(request, "Session cancelled. Everyone with a request has been told.")
        return redirect(slot.showcase)
    told = slot.requests.active().select_related("requester", "requester__school").order_by("pk")
    context = {"slot": slot, "showcase": slot.showcase, "form": form, "told": list(told)}
    return render(request, "showcases/confirm_slot_cancel.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def slot_meeting(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A district leader holds a session as a principals' meeting: the principals chosen
    (narrowed by school level if they like) are seated without asking, within the seats left."""
    slot = _get_slot_for_user(request, pk)
    if not slot.can_convene(request.user):
        raise PermissionDenied
    seated = list(
        slot.requests.approved()
        .select_related("requester", "requester__school")
        .order_by("requester__school__name", "requester__last_name", "pk")
    )
    level_form = MeetingFilterForm(request.GET or None)
    candidates = slot.meeting_candidates().exclude(pk__in=[visit.requester_id for visit in seated])
    if level_form.is_valid() and level_form.cleaned_data["level"]:
        candidates = candidates.filter(school__level=level_form.cleaned_data["level"])
    form = MeetingForm(request.POST or None, slot=slot, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            visits = services.meeting_schedule(
                slot=slot,
                convener=request.user,
                principals=list(form.cleaned_data["principals"]),
                note=form.cleaned_data["note"],
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(None if field == "__all__" else field, problems)
        else:
            messages.success(
                request,
                f"{len(visits)} principal{'' if len(visits) == 1 else 's'} seated and sent the invitation. "
                "The host has been told.",
            )
            return redirect(slot.showcase)
    context = {"slot": slot, "showcase": slot.showcase, "form": form, "level_form": level_form, "seated": seated}
    return render(request, "showcases/meeting.html", context, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "HEAD"])
def my_visits(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    visits = list(
        VisitRequest.objects.filter(requester=request.user)
        .with_waitlist_place()
        .select_related("slot", "slot__showcase", "slot__showcase__host_school", "reflection")
        .order_by("slot__starts_at", "pk")
    )
    upcoming = [
        {
            "visit": visit,
            # Web calendars take the visit as it stands; the .ics and the feed follow changes.
            "google": google_calendar_url(visit) if visit.is_approved else "",
            "outlook": outlook_calendar_url(visit) if visit.is_approved else "",
        }
        for visit in visits
        if visit.slot.ends_at > now
    ]
    past = [visit for visit in reversed(visits) if visit.slot.ends_at <= now]
    # Nothing is made on a GET: the address is made when asked for (calendar_feed_reset).
    feed = CalendarFeed.objects.filter(user=request.user).first()
    feed_url = request.build_absolute_uri(f"{reverse('showcases:calendar_feed')}?token={feed.token}") if feed else ""
    return render(
        request,
        "showcases/my_visits.html",
        {
            "upcoming": upcoming,
            "past": past,
            "feed": feed,
            "feed_url": feed_url,
            "webcal_url": webcal_url(feed_url) if feed_url else "",
        },
    )


HOSTED_PAGE_SIZE = 20


@require_http_methods(["GET", "HEAD"])
def hosting(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The host's inbox (requests to decide, sessions to come, debriefs to write), today's
    check-in, and past sessions apart, a page at a time."""
    user = request.user
    now = timezone.now()
    zone = timezone.get_current_timezone()
    today = timezone.localdate()
    todays = with_approved_visits(
        hosted_sessions(user).filter(
            cancelled_at__isnull=True,
            starts_at__gte=datetime.combine(today, time.min, zone),
            starts_at__lt=datetime.combine(today + timedelta(days=1), time.min, zone),
        )
    ).order_by("starts_at", "pk")
    past = with_request_counts(hosted_sessions(user).filter(ends_at__lte=now)).order_by("-starts_at", "-pk")
    page = Paginator(past, HOSTED_PAGE_SIZE).get_page(request.GET.get("page"))
    inbox = host_inbox(user, now=now)
    return render(
        request,
        "showcases/hosting.html",
        {
            "inbox": inbox,
            # The navigation's badge, counted with the inbox.
            "awaiting_decisions": AwaitingDecisions(user, count=inbox.pending_count),
            "check_in": [
                (slot, AttendanceForm(visits=list(slot.requests.all()), prefix=f"slot{slot.pk}"))
                for slot in todays
                if slot.requests.all()
            ],
            "past": page.object_list,
            "page": page,
            "can_host": can_host(user),
        },
    )


ATTENDEE_COLUMNS = [
    "session_starts",
    "session_ends",
    "location",
    "visitor",
    "school",
    "email",
    "party_size",
    "status",
    "waitlist_place",
    "attendance",
    "hopes_to_learn",
]


@require_http_methods(["GET", "HEAD"])
def attendees_csv(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The host's attendee list: every approved and waiting visitor of every session, by session."""
    showcase = _get_manageable_showcase_for_user(request, pk)
    visits = sorted(
        VisitRequest.objects.filter(
            slot__showcase=showcase, status__in=[RequestStatus.APPROVED, RequestStatus.WAITLISTED]
        )
        .with_waitlist_place()
        .select_related("slot", "requester", "requester__school"),
        key=lambda visit: (
            visit.slot.starts_at,
            visit.slot_id,
            not visit.is_approved,
            visit.waitlist_position or 0,
            visit.requester.last_name,
            visit.requester.first_name,
            visit.pk,
        ),
    )
    rows = [
        [
            f"{timezone.localtime(visit.slot.starts_at):%Y-%m-%d %H:%M}",
            f"{timezone.localtime(visit.slot.ends_at):%Y-%m-%d %H:%M}",
            visit.slot.location,
            person_label(visit.requester, reader=request.user),
            visit.requester.school.name if visit.requester.school else "",
            visit.requester.email,
            visit.seats,
            visit.get_status_display(),
            visit.waitlist_position,
            visit.get_attendance_display() if visit.is_approved else "",
            visit.message,
        ]
        for visit in visits
    ]
    return csv_response(f"attendees-{showcase.pk}.csv", ATTENDEE_COLUMNS, rows)


def _approved_visits(slot: VisitSlot) -> list[VisitRequest]:
    return list(
        slot.requests.filter(status=RequestStatus.APPROVED)
        .select_related("requester", "requester__school")
        .order_by("requester__last_name", "requester__first_name", "pk")
    )


# Pages check-in may be sent from besides the session's own, by the name the form sends.
CHECK_IN_PAGES = {"hosting": "showcases:hosting"}


@require_http_methods(["GET", "POST"])
def slot_attendance(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Check visitors in: attended or no-show for each approved visitor, from the day of the session."""
    slot = _get_manageable_slot_for_user(request, pk)
    visits = _approved_visits(slot)
    form = AttendanceForm(request.POST or None, visits=visits, prefix=f"slot{slot.pk}")
    if request.method == "POST" and form.is_valid():
        try:
            slot = services.slot_attendance_record(slot=slot, marks=form.marks())
        except ValidationError as error:
            form.add_error(None, error)
        else:
            marks = list(form.marks().values())
            messages.success(
                request,
                f"Check-in saved: {marks.count(Attendance.ATTENDED)} attended, "
                f"{marks.count(Attendance.NO_SHOW)} no-show.",
            )
            page = CHECK_IN_PAGES.get(request.POST.get("back", ""))
            return redirect(page) if page else redirect("showcases:attendance", pk=slot.pk)
    return render(
        request,
        "showcases/attendance.html",
        {"slot": slot, "showcase": slot.showcase, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def slot_message(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Write to everyone approved for a session, each by their own e-mail."""
    slot = _get_manageable_slot_for_user(request, pk)
    form = SessionMessageForm(request.POST or None)
    if request.method == "POST":
        if not slot.can_message(request.user):
            form.add_error(None, "This session was cancelled; its visitors have been told.")
        elif form.is_valid():
            try:
                sent = services.slot_message_send(
                    slot=slot,
                    sender=request.user,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"Message sent to {sent.recipients} visitor{'s' if sent.recipients != 1 else ''}."
                )
                return redirect(slot.showcase)
    return render(
        request,
        "showcases/message.html",
        {
            "slot": slot,
            "showcase": slot.showcase,
            "form": form,
            "recipients": slot.requests.filter(status=RequestStatus.APPROVED).count(),
            "sent": slot.messages.select_related("sender")[:20],
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "HEAD"])
def visit_calendar_file(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = _get_visit_for_user(request, pk)
    response = HttpResponse(visit_ics(visit), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="visit-{visit.pk}.ics"'
    return response


@login_not_required
@require_http_methods(["GET", "HEAD"])
def calendar_feed(request: HttpRequest) -> HttpResponse:
    """A personal subscription: the secret token in the address stands in for signing in."""
    token = request.GET.get("token", "")
    feed = (
        CalendarFeed.objects.select_related("user").filter(token=token, user__is_active=True).first() if token else None
    )
    if feed is None:
        raise Http404
    user = feed.user
    visits = (
        VisitRequest.objects.filter(requester=user)
        .exclude(status__in=[RequestStatus.PENDING, RequestStatus.DECLINED])
        .select_related("slot", "slot__showcase", "slot__showcase__host", "slot__showcase__host_school")
    )
    slots = VisitSlot.objects.filter(showcase__host=user).select_related(
        "showcase", "showcase__host", "showcase__host_school"
    )
    response = HttpResponse(feed_ics(visits, slots), content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_POST
def calendar_feed_reset(request: AuthenticatedHttpRequest) -> HttpResponse:
    feed, created = CalendarFeed.objects.get_or_create(user=request.user)
    if created:
        messages.success(request, "Your calendar address is ready: add it to your calendar app.")
    else:
        feed.reset()
        messages.success(
            request, "Your calendar address is new. The old one no longer works: subscribe again with the new one."
        )
    return redirect("showcases:my_visits")


@require_http_methods(["GET", "POST"])
def slot_debrief(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The debrief of one session: the host's notes and every visitor's reflection."""
    user = request.user
    slot, visits = _get_debrief_for_user(request, pk)
    form = DebriefForm(request.POST or None, instance=slot) if slot.can_debrief(user) else None
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            services.slot_debrief(slot=slot, notes=form.cleaned_data["debrief_notes"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Debrief notes saved. Visitors can read them here.")
        return redirect("showcases:debrief", pk=slot.pk)
    reflections = [visit.reflection for visit in visits if hasattr(visit, "reflection")]
    linked = [r.practice_id for r in reflections if r.practice_id is not None]
    readable = (
        set(Practice.objects.visible_to(user).filter(pk__in=linked).values_list("pk", flat=True)) if linked else set()
    )
    return render(
        request,
        "showcases/debrief.html",
        {
            "slot": slot,
            "showcase": slot.showcase,
            "form": form,
            "visits": visits,
            # A linked entry the reader may not open is not named to them, nor is its adoption.
            "reflections": [
                (
                    reflection,
                    reflection.practice if reflection.practice_id in readable else None,
                    reflection.adoption if reflection.practice_id in readable else None,
                )
                for reflection in reflections
            ],
            "my_visit": next((visit for visit in visits if visit.is_requested_by(user)), None),
            # Who has reflected, for those who write the debrief (and so follow up).
            "reflected": [(visit, hasattr(visit, "reflection")) for visit in visits] if slot.can_debrief(user) else [],
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def visit_reflect(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    visit = _get_own_visit_for_user(request, pk)
    if not visit.reflection_open:
        messages.error(request, "You can record a reflection once your approved visit has taken place.")
        return redirect("showcases:my_visits")
    existing = VisitorReflection.objects.filter(visit_request=visit).first()
    form = ReflectionForm(request.POST or None, instance=existing, showcase=visit.slot.showcase, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.reflection_save(
            visit=visit,
            noticed=form.cleaned_data["noticed"],
            will_try=form.cleaned_data["will_try"],
            practice=form.cleaned_data["practice"],
            trying=form.cleaned_data["trying"],
        )
        messages.success(request, "Thank you. Your reflection is part of the session's debrief.")
        return redirect("showcases:debrief", pk=visit.slot_id)
    return render(
        request,
        "showcases/reflect.html",
        {"form": form, "visit": visit, "showcase": visit.slot.showcase},
        status=400 if request.method == "POST" else 200,
    )
