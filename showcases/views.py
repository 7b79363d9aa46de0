from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from portal.forms import EARLIEST_DATE, LATEST_DATE
from portal.models import Role, User
from practices.models import Practice
from showcases import services
from showcases.calendar import feed_ics, visit_ics
from showcases.filters import ShowcaseFilter
from showcases.forms import DebriefForm, HostNoteForm, ReflectionForm, ShowcaseForm, VisitRequestForm, VisitSlotFormSet
from showcases.models import (
    ACTIVE_REQUEST_STATUSES,
    CalendarFeed,
    RequestStatus,
    Showcase,
    ShowcaseStatus,
    VisitorReflection,
    VisitRequest,
    VisitSlot,
)


def _get_showcase_for_user(request: HttpRequest, pk: int, queryset: QuerySet[Showcase] | None = None) -> Showcase:
    base = queryset if queryset is not None else Showcase.objects.select_related("host", "host_school")
    return get_object_or_404(base.visible_to(request.user), pk=pk)


def _get_visit_for_user(request: HttpRequest, pk: int) -> VisitRequest:
    """A visit request is seen by its requester and by those who run the showcase."""
    visit = get_object_or_404(
        VisitRequest.objects.select_related(
            "slot", "slot__showcase", "slot__showcase__host_school", "slot__showcase__host", "requester"
        ),
        pk=pk,
        slot__showcase__in=Showcase.objects.visible_to(request.user),
    )
    if visit.requester_id != request.user.pk and not visit.slot.showcase.can_manage(request.user):
        raise Http404
    return visit


def _can_host(user: User) -> bool:
    return (user.role == Role.PRINCIPAL and user.school_id is not None) or user.role == Role.DISTRICT_LEADER


PAGE_SIZE = 20


@require_http_methods(["GET", "HEAD"])
def showcase_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    upcoming_slots = VisitSlot.objects.filter(starts_at__gt=now, cancelled_at__isnull=True).order_by("starts_at")
    base = (
        Showcase.objects.visible_to(request.user)
        .published()
        .filter(Exists(upcoming_slots.filter(showcase=OuterRef("pk"))))
        .annotate(
            next_session=Min("slots__starts_at", filter=Q(slots__starts_at__gt=now, slots__cancelled_at__isnull=True))
        )
        .select_related("host_school", "host")
        .prefetch_related(Prefetch("slots", queryset=upcoming_slots, to_attr="upcoming"))
        .order_by("next_session", "pk")
    )
    showcase_filter = ShowcaseFilter(request.GET or None, queryset=base, request=request)
    results = showcase_filter.qs if not showcase_filter.is_bound or showcase_filter.is_valid() else base.none()
    page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "showcases/list.html",
        {"showcases": page.object_list, "page": page, "filter": showcase_filter, "can_host": _can_host(request.user)},
    )


@require_http_methods(["GET", "HEAD"])
def showcase_month(request: HttpRequest) -> HttpResponse:
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
            "previous": previous,
            "following": following,
            "weekdays": ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"],
        },
    )


@require_http_methods(["GET", "HEAD"])
def showcase_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
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
                queryset=VisitSlot.objects.prefetch_related(
                    Prefetch("requests", queryset=VisitRequest.objects.select_related("requester", "requester__school"))
                ),
            ),
        ),
    )
    managing = showcase.can_manage(user)
    slots = []
    for slot in showcase.slots.all():
        requests = list(slot.requests.all())
        mine = next((r for r in requests if r.requester_id == user.pk and r.is_active), None)
        slots.append(
            {
                "slot": slot,
                "requests": requests if managing else [],
                "waiting": [r for r in requests if r.status == RequestStatus.WAITLISTED],
                "mine": mine,
                "form": VisitRequestForm(slot=slot, prefix=f"slot{slot.pk}")
                if not managing
                and mine is None
                and not slot.is_past
                and not slot.is_cancelled
                and showcase.status == ShowcaseStatus.PUBLISHED
                and user.school_id != showcase.host_school_id
                else None,
            }
        )
    return render(
        request,
        "showcases/detail.html",
        {"showcase": showcase, "slots": slots, "managing": managing, "note_form": HostNoteForm()},
    )


def _showcase_form_page(request: HttpRequest, showcase: Showcase | None) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    instance = showcase or Showcase(host=user, host_school_id=user.school_id)
    if request.method == "POST":
        form = ShowcaseForm(request.POST, instance=instance, user=user)
        slots = VisitSlotFormSet(request.POST, instance=instance, prefix="slots")
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
                    "Published: colleagues can now request seats."
                    if saved.status == ShowcaseStatus.PUBLISHED
                    else "Saved as a draft.",
                )
                return redirect(saved)
        status = 400
    else:
        form = ShowcaseForm(instance=instance, user=user)
        slots = VisitSlotFormSet(instance=instance, prefix="slots")
        status = 200
    return render(request, "showcases/form.html", {"form": form, "slots": slots, "showcase": showcase}, status=status)


@require_http_methods(["GET", "POST"])
def showcase_create(request: HttpRequest) -> HttpResponse:
    if not _can_host(request.user):
        raise PermissionDenied
    return _showcase_form_page(request, None)


@require_http_methods(["GET", "POST"])
def showcase_edit(request: HttpRequest, pk: int) -> HttpResponse:
    showcase = _get_showcase_for_user(request, pk)
    if not showcase.can_manage(request.user) or showcase.status == ShowcaseStatus.CANCELLED:
        raise PermissionDenied
    return _showcase_form_page(request, showcase)


@require_POST
def showcase_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    showcase = _get_showcase_for_user(request, pk)
    if not showcase.can_manage(request.user):
        raise PermissionDenied
    services.showcase_cancel(showcase=showcase)
    messages.success(request, "Showcase cancelled. Everyone with a request has been told.")
    return redirect(showcase)


@require_POST
def visit_request_create(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = get_object_or_404(
        VisitSlot.objects.select_related("showcase"), pk=slot_id, showcase__in=Showcase.objects.visible_to(request.user)
    )
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
            messages.success(
                request,
                {
                    RequestStatus.APPROVED: "You have a seat. A calendar invitation is on its way by e-mail.",
                    RequestStatus.WAITLISTED: "The session is full, so you are on the waiting list. You will hear if a seat opens.",
                }.get(visit.status, "Request sent. The host will approve or decline it."),
            )
            return redirect(slot.showcase)
    return render(
        request, "showcases/request_form.html", {"form": form, "slot": slot, "showcase": slot.showcase}, status=400
    )


def _decide(request: HttpRequest, pk: int, decision: str) -> HttpResponse:
    visit = _get_visit_for_user(request, pk)
    showcase = visit.slot.showcase
    form = HostNoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        if decision == "cancel":
            if visit.requester_id != request.user.pk:
                raise PermissionDenied
            services.visit_request_cancel(visit=visit)
            messages.success(
                request, "Your request is cancelled. Your seat, if you had one, went to the next person waiting."
            )
            return redirect("showcases:my_visits")
        if not showcase.can_manage(request.user):
            raise PermissionDenied
        if decision == "approve":
            visit = services.visit_request_approve(visit=visit, note=note)
            messages.success(
                request,
                "Approved."
                if visit.status == RequestStatus.APPROVED
                else "No seats left: the request is on the waiting list.",
            )
        else:
            services.visit_request_decline(visit=visit, note=note)
            messages.success(request, "Declined. The visitor has been told.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(showcase)


@require_POST
def visit_request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "approve")


@require_POST
def visit_request_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "decline")


@require_POST
def visit_request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "cancel")


@require_POST
def slot_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    slot = get_object_or_404(
        VisitSlot.objects.select_related("showcase"), pk=pk, showcase__in=Showcase.objects.visible_to(request.user)
    )
    if not slot.showcase.can_manage(request.user):
        raise PermissionDenied
    services.slot_cancel(slot=slot)
    messages.success(request, "Session cancelled. Everyone with a request has been told.")
    return redirect(slot.showcase)


@require_http_methods(["GET", "HEAD"])
def my_visits(request: HttpRequest) -> HttpResponse:
    visits = (
        VisitRequest.objects.filter(requester=request.user)
        .select_related("slot", "slot__showcase", "slot__showcase__host_school")
        .order_by("-slot__starts_at")
    )
    # Nothing is made on a GET: the address is made when asked for (calendar_feed_reset).
    feed = CalendarFeed.objects.filter(user=request.user).first()
    return render(request, "showcases/my_visits.html", {"visits": visits, "feed": feed, "now": timezone.now()})


@require_http_methods(["GET", "HEAD"])
def hosting(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    managed = Q(host=user)
    if user.role == Role.PRINCIPAL and user.school_id:
        managed |= Q(host_school_id=user.school_id)
    slots = (
        VisitSlot.objects.filter(showcase__in=Showcase.objects.filter(managed))
        .select_related("showcase", "showcase__host_school")
        .prefetch_related(
            Prefetch(
                "requests",
                queryset=VisitRequest.objects.filter(status__in=ACTIVE_REQUEST_STATUSES).select_related(
                    "requester", "requester__school"
                ),
            )
        )
        .order_by("-starts_at")
    )
    return render(
        request, "showcases/hosting.html", {"slots": slots, "now": timezone.now(), "can_host": _can_host(user)}
    )


@require_http_methods(["GET", "HEAD"])
def visit_calendar_file(request: HttpRequest, pk: int) -> HttpResponse:
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
def calendar_feed_reset(request: HttpRequest) -> HttpResponse:
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
def slot_debrief(request: HttpRequest, pk: int) -> HttpResponse:
    """The debrief of one session: the host's notes and every visitor's reflection.
    Open to those who run the showcase and the session's approved visitors."""
    user: User = request.user  # type: ignore[assignment]
    slot = get_object_or_404(
        VisitSlot.objects.select_related("showcase", "showcase__host", "showcase__host_school"),
        pk=pk,
        showcase__in=Showcase.objects.visible_to(user),
    )
    managing = slot.showcase.can_manage(user)
    visits = list(
        slot.requests.filter(status=RequestStatus.APPROVED).select_related(
            "requester", "requester__school", "reflection", "reflection__practice"
        )
    )
    my_visit = next((v for v in visits if v.requester_id == user.pk), None)
    if not managing and my_visit is None:
        raise Http404
    form = DebriefForm(request.POST or None, instance=slot) if managing else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if not slot.is_past:
            messages.error(request, "The debrief opens once the session has started.")
            return redirect("showcases:debrief", pk=slot.pk)
        if form.is_valid():
            services.slot_debrief(slot=slot, notes=form.cleaned_data["debrief_notes"])
            messages.success(request, "Debrief notes saved. Visitors can read them here.")
            return redirect("showcases:debrief", pk=slot.pk)
    reflections = [v.reflection for v in visits if hasattr(v, "reflection")]
    linked = [r.practice_id for r in reflections if r.practice_id is not None]
    readable = (
        set(Practice.objects.visible_to(user).filter(pk__in=linked).values_list("pk", flat=True)) if linked else set()
    )
    for reflection in reflections:
        # A linked entry the reader may not open is not named to them.
        reflection.readable_practice = reflection.practice if reflection.practice_id in readable else None
    return render(
        request,
        "showcases/debrief.html",
        {
            "slot": slot,
            "showcase": slot.showcase,
            "form": form,
            "visits": visits,
            "reflections": reflections,
            "my_visit": my_visit,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def visit_reflect(request: HttpRequest, pk: int) -> HttpResponse:
    visit = _get_visit_for_user(request, pk)
    if visit.requester_id != request.user.pk:
        raise PermissionDenied
    if visit.status != RequestStatus.APPROVED or not visit.slot.is_past:
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
