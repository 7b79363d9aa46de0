"""The dashboard's flows between schools (adoptions, adaptations, visits) and sessions hosted come
from a summary that follows every write: the writes the showcases make with update() say so,
random writes leave the very rows a rebuild counts, and the flows, the sessions hosted and the
headline windows equal a count of the rows themselves, for any dates, level and school."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from insights.district import Scope, _flows, build_district_dashboard
from insights.models import FlowDay, FlowKind, FlowMark
from insights.summaries import (
    flow_summary_rows,
    flow_total_rows,
    flow_totals_rebuild,
    flows_through,
    local_day,
    summaries_rebuild,
)
from portal.models import School, User
from practices.models import Adoption, Practice, Status, Visibility
from practices.services import practice_archive, practice_unarchive
from showcases.models import Attendance, RequestStatus, VisitRequest, VisitSlot
from showcases.services import (
    slot_attendance_record,
    slot_cancel,
    visit_request_approve,
    visit_request_cancel,
    visit_request_create,
)
from showcases.signals import session_changed
from tests.factories import PracticeFactory, PrincipalFactory, SchoolFactory, TeacherFactory, VisitSlotFactory
from tests.portal import test_oneroster as roster

pytestmark = pytest.mark.django_db


def test_a_cancelled_session_takes_its_visits_and_seats_out_at_once(
    principal, other_teacher, django_capture_on_commit_callbacks
):
    soon = timezone.now() + timedelta(days=2)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=soon, ends_at=soon + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        visit = visit_request_create(slot=slot, requester=other_teacher, seats=2)
        visit_request_approve(visit=visit)
    assert flow_summary_rows() == [
        (FlowKind.HOSTED, local_day(soon), principal.school_id, None, 1, 2, 0, 0),
        (FlowKind.VISIT, local_day(soon), principal.school_id, other_teacher.school_id, 1, 2, 0, 0),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        slot_cancel(slot=slot)
    assert flow_summary_rows() == []


def test_a_session_cancelled_with_nobody_asking_is_no_longer_counted_as_held(
    principal, django_capture_on_commit_callbacks
):
    """A cancellation is written with update() and, with no request to it, saves nothing else."""
    past = timezone.now() - timedelta(days=2)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    assert build_district_dashboard(Scope(), with_survey=False).totals["sessions"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        slot_cancel(slot=slot)
    assert build_district_dashboard(Scope(), with_survey=False).totals["sessions"] == 0
    assert flow_summary_rows() == []


def test_every_write_to_a_session_with_update_says_so(principal, other_teacher, django_capture_on_commit_callbacks):
    """Seats taken and given back, and a cancellation, are written with update(): each sends
    session_changed, which the summaries follow."""
    heard: list[int] = []

    def listen(sender, slot, starts_before, **kwargs):
        heard.append(slot.pk)

    session_changed.connect(listen, sender=VisitSlot, dispatch_uid="test-listen")
    try:
        soon = timezone.now() + timedelta(days=2)
        slot = VisitSlotFactory(showcase__host=principal, starts_at=soon, ends_at=soon + timedelta(hours=2))
        with django_capture_on_commit_callbacks(execute=True):
            visit = visit_request_create(slot=slot, requester=other_teacher, seats=1)
            visit_request_approve(visit=visit)
            assert heard == [slot.pk]
            visit_request_cancel(visit=visit)
            assert heard == [slot.pk, slot.pk]
            slot_cancel(slot=slot)
            assert heard == [slot.pk] * 3
    finally:
        session_changed.disconnect(dispatch_uid="test-listen", sender=VisitSlot)


def test_a_visitor_who_changes_school_takes_their_visits_along(
    principal, other_teacher, django_capture_on_commit_callbacks
):
    past = timezone.now() - timedelta(days=3)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    third = SchoolFactory(slug="hill", name="Hill High", level="high")
    other_teacher.school = third
    other_teacher.save()
    data = build_district_dashboard(Scope(), with_survey=False)
    assert [(f.source, f.target) for f in data.flows["visit"]] == [("Maple Grove Elementary", "Hill High")]


def test_a_district_loaded_in_bulk_has_its_flows_counted_when_first_read(principal, other_teacher):
    past = timezone.now() - timedelta(days=3)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    VisitRequest.objects.bulk_create(
        [VisitRequest(slot=slot, requester=other_teacher, seats=2, status=RequestStatus.APPROVED)]
    )
    FlowDay.objects.all().delete()
    data = build_district_dashboard(Scope(), with_survey=False)
    assert [(f.count, f.seats) for f in data.flows["visit"]] == [(1, 2)]


def test_the_nightly_rebuild_counts_the_flows_again(principal, other_teacher):
    past = timezone.now() - timedelta(days=3)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2))
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=1, status=RequestStatus.APPROVED)
    kept = flow_summary_rows()
    FlowDay.objects.all().delete()
    call_command("run_periodic_jobs", "daily")
    assert flow_summary_rows() == kept and len(kept) == 2


def test_a_session_counts_once_it_has_started_today(principal, other_teacher):
    """The summary holds sessions to come; the dashboard counts one from the moment it starts."""
    now = timezone.now()
    started = VisitSlotFactory(
        showcase__host=principal, starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1)
    )
    VisitSlotFactory(showcase__host=principal, starts_at=now + timedelta(minutes=1), ends_at=now + timedelta(hours=1))
    VisitRequest.objects.create(slot=started, requester=other_teacher, seats=3, status=RequestStatus.APPROVED)
    assert sum(FlowDay.objects.filter(kind=FlowKind.HOSTED).values_list("count", flat=True)) == 2
    data = build_district_dashboard(Scope(), with_survey=False)
    assert [(f.count, f.seats) for f in data.hosting] == [(1, 0)]
    assert [(f.count, f.seats) for f in data.flows["visit"]] == [(1, 3)]
    assert data.changes["sessions"].current == 1


def test_flows_name_no_entry_a_reader_may_not_open(principal, other_teacher, django_capture_on_commit_callbacks):
    """A flow names both schools to every reader of the dashboard: an adaptation or an adoption
    of an entry shared only within its school is not counted, and counts again once shared."""
    original = PracticeFactory(author=principal)
    with django_capture_on_commit_callbacks(execute=True):
        adaptation = PracticeFactory(author=other_teacher, adapted_from=original, visibility=Visibility.SCHOOL)
        Adoption.objects.create(practice=adaptation, user=principal, school=principal.school)
    assert not Practice.objects.visible_to(principal).filter(pk=adaptation.pk).exists()
    data = build_district_dashboard(Scope.for_reader(principal), with_survey=False)
    assert data.flows["adaptation"] == [] and data.flows["adoption"] == []
    with django_capture_on_commit_callbacks(execute=True):
        adaptation.visibility = Visibility.DISTRICT
        adaptation.save(update_fields=["visibility"])
    data = build_district_dashboard(Scope.for_reader(principal), with_survey=False)
    assert [(f.source, f.target) for f in data.flows["adaptation"]] == [
        ("Maple Grove Elementary", "Riverside Middle School")
    ]
    assert [(f.source, f.target) for f in data.flows["adoption"]] == [
        ("Riverside Middle School", "Maple Grove Elementary")
    ]


def test_a_oneroster_import_that_moves_a_visitor_moves_their_visits(django_capture_on_commit_callbacks):
    """The import writes people in bulk (no post_save); the people it moves are recounted."""
    elm = {"sourcedId": "school-elm", "name": "Elm Middle", "type": "school", "parentSourcedId": "district-1"}
    with django_capture_on_commit_callbacks(execute=True):
        roster.run(roster.files(orgs=[*roster.ORGS, elm]))
    ada, grace = User.objects.get(sourced_id="t-ada"), User.objects.get(sourced_id="a-grace")
    past = timezone.now() - timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        slot = VisitSlotFactory(showcase__host=grace, starts_at=past, ends_at=past + timedelta(hours=2))
        VisitRequest.objects.create(slot=slot, requester=ada, seats=1, status=RequestStatus.APPROVED)

    def visits() -> list[tuple[str, str]]:
        return [(f.source, f.target) for f in build_district_dashboard(Scope(), with_survey=False).flows["visit"]]

    assert visits() == [("Pine High School", "Oak Elementary")]
    moved = [dict(row, orgSourcedIds="school-elm") if row is roster.ADA else row for row in roster.PEOPLE]
    with django_capture_on_commit_callbacks(execute=True):
        roster.run(roster.files(people=moved, orgs=[*roster.ORGS, elm]))
    assert visits() == [("Pine High School", "Elm Middle")]
    kept = flow_summary_rows()
    summaries_rebuild()
    assert flow_summary_rows() == kept


# -- Random writes: the summary equals a rebuild and a count of the rows themselves -----------------

WRITES = [
    "adopt",
    "unadopt",
    "adapt",
    "archive",
    "unarchive",
    "practice_moves",
    "narrow",
    "widen",
    "session",
    "request",
    "approve",
    "withdraw",
    "move_session",
    "cancel_session",
    "check_in",
    "visitor_moves",
    "host_moves",
]


def _counted_by_hand(scope, period, now):
    """What the dashboard's flows count, counted one row at a time: {(kind, source, target):
    (count, seats, sessions checked in, seats attended)} and {window: (count, seats)}."""
    first, last = scope.start or date.min, scope.end or date.max
    flows: dict[tuple[str, int, int], tuple[int, ...]] = {}
    windows: dict[str, tuple[int, ...]] = {}

    def add(into, key, values):
        into[key] = tuple(a + b for a, b in zip(into.get(key, (0,) * len(values)), values, strict=True))

    def counted(kind, day, source, target, values, window=None):
        ends = [school for school in (source, target) if school is not None]
        if scope.school_id is not None and scope.school_id not in [school.pk for school in ends]:
            return
        if scope.level and scope.level not in [school.level for school in ends]:
            return
        if first <= day <= last:
            add(flows, (kind, source.pk, target.pk if target else 0), values)
        if window and period.previous_start <= day <= period.end:
            add(windows, f"{window}:{'current' if day >= period.start else 'previous'}", values[:2])

    for adoption in Adoption.objects.select_related("practice__school", "school"):
        practice = adoption.practice
        shared = practice.visibility == Visibility.DISTRICT
        if (
            practice.status == Status.PUBLISHED
            and shared
            and adoption.school
            and adoption.school_id != practice.school_id
        ):
            day = local_day(adoption.created_at)
            counted("adoption", day, practice.school, adoption.school, (1, 0, 0, 0), "adoptions")
    for practice in Practice.objects.filter(adapted_from__isnull=False).select_related(
        "school", "adapted_from__school"
    ):
        original = practice.adapted_from
        assert original is not None
        shared = practice.visibility == original.visibility == Visibility.DISTRICT
        if practice.status == Status.PUBLISHED and shared and practice.school_id != original.school_id:
            assert practice.published_at is not None  # a constraint says so
            counted("adaptation", local_day(practice.published_at), original.school, practice.school, (1, 0, 0, 0))
    for slot in VisitSlot.objects.select_related("showcase__host_school"):
        if slot.cancelled_at is not None or slot.starts_at >= now:
            continue
        host, day, checked = slot.showcase.host_school, local_day(slot.starts_at), slot.attendance_taken_at is not None
        seats = slot.seats_attended if checked else slot.seats_taken
        counted("hosted", day, host, None, (1, seats, int(checked), slot.seats_attended if checked else 0), "held")
        for visit in slot.requests.select_related("requester__school"):
            school = visit.requester.school
            approved = visit.status == RequestStatus.APPROVED and visit.attendance != Attendance.NO_SHOW
            if approved and school is not None and school.pk != host.pk:
                counted("visit", day, host, school, (1, visit.seats, 0, 0))
    return flows, windows


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(WRITES), st.integers(0, 5), st.integers(-30, 10)), min_size=1, max_size=16
    ),
    start=st.one_of(st.none(), st.integers(-10, 1)),
    length=st.one_of(st.none(), st.integers(0, 12)),
    level=st.sampled_from(["", "elementary", "middle"]),
    one_school=st.booleans(),
    marked=st.integers(0, 4),
)
def test_random_writes_give_the_flows_a_count_of_the_rows_gives(
    writes, start, length, level, one_school, marked, school, other_school, teacher, django_capture_on_commit_callbacks
):
    with transaction.atomic():
        now = timezone.now()
        # The totals per pair hold visits and sessions up to a mark some days back, as when the
        # nightly rebuild has not run since: the dashboard reads the days since from FlowDay.
        flow_totals_rebuild(timezone.localdate() - timedelta(days=marked))
        schools = [school, other_school, SchoolFactory(slug="hill", name="Hill High", level="high")]
        people = [TeacherFactory(school=schools[n % 3]) for n in range(6)]
        hosts = [PrincipalFactory(school=schools[n]) for n in range(3)]
        practices = [PracticeFactory(author=people[n], published_at=now - timedelta(days=20 + n)) for n in range(3)]
        adoptions: list[Adoption] = []
        slots: list[VisitSlot] = []
        with django_capture_on_commit_callbacks(execute=True):
            # Something of each kind to start from: adoptions and an adaptation between schools, and
            # two sessions with approved visitors, one of which has taken place (the writes move them).
            for n in range(3):
                adopter = people[n + 1]
                adoptions.append(
                    Adoption.objects.create(
                        practice=practices[n], user=adopter, school=adopter.school, created_at=now - timedelta(days=n)
                    )
                )
            practices.append(
                PracticeFactory(author=people[1], adapted_from=practices[0], published_at=now - timedelta(days=2))
            )
            for n in range(2):
                ahead = now + timedelta(days=1, hours=n)
                slots.append(
                    VisitSlotFactory(showcase__host=hosts[n], starts_at=ahead, ends_at=ahead + timedelta(hours=2))
                )
                for visitor in people[n + 1 : n + 3]:
                    visit_request_approve(visit=visit_request_create(slot=slots[n], requester=visitor, seats=1 + n))
            past = now - timedelta(days=2)
            slots[0].refresh_from_db()
            slots[0].starts_at, slots[0].ends_at = past, past + timedelta(hours=2)
            slots[0].save(update_fields=["starts_at", "ends_at"])
            for write, which, hours in writes:
                # Hours either side of now, so the writes cross days, today and the periods' edges.
                moment = now + timedelta(hours=hours * 7)
                practice = practices[which % len(practices)]
                person = people[which % len(people)]
                try:
                    if write == "adopt":
                        if Adoption.objects.filter(practice=practice, user=person).exists():
                            continue
                        adoptions.append(
                            Adoption.objects.create(
                                practice=practice, user=person, school=person.school, created_at=min(moment, now)
                            )
                        )
                    elif write == "unadopt" and adoptions:
                        adoptions.pop(which % len(adoptions)).delete()
                    elif write == "adapt":
                        practices.append(
                            PracticeFactory(
                                author=person,
                                adapted_from=practice,
                                lineage_root=practice.lineage_root or practice,
                                published_at=min(moment, now),
                            )
                        )
                    elif write == "archive":
                        practice_archive(practice=practice, by=teacher, reason="Tidying")
                    elif write == "unarchive":
                        practice_unarchive(practice=practice, by=teacher)
                    elif write in ("narrow", "widen"):
                        # Who may open an entry changes whether its flows are counted.
                        practice.refresh_from_db()
                        practice.visibility = Visibility.SCHOOL if write == "narrow" else Visibility.DISTRICT
                        practice.save(update_fields=["visibility"])
                    elif write == "practice_moves":
                        practice.refresh_from_db()
                        practice.school = schools[(which + hours) % 3]
                        practice.save()
                    elif write == "session" or not slots:
                        # Sessions are set up ahead, so requests can be decided; some then move.
                        ahead = now + timedelta(days=3, hours=which)
                        slots.append(
                            VisitSlotFactory(
                                showcase__host=hosts[which % 3], starts_at=ahead, ends_at=ahead + timedelta(hours=2)
                            )
                        )
                    else:
                        slot = slots[which % len(slots)]
                        slot.refresh_from_db()
                        visits = list(slot.requests.order_by("pk"))
                        if write == "request":
                            visit_request_create(slot=slot, requester=person, seats=1 + hours % 2)
                        elif write == "approve" and visits:
                            visit_request_approve(visit=visits[which % len(visits)])
                        elif write == "withdraw" and visits:
                            visit_request_cancel(visit=visits[which % len(visits)])
                        elif write == "move_session":
                            slot.starts_at, slot.ends_at = moment, moment + timedelta(hours=2)
                            slot.save(update_fields=["starts_at", "ends_at"])
                        elif write == "cancel_session":
                            slot_cancel(slot=slot)
                        elif write == "check_in" and visits:
                            marks = {
                                visit.pk: Attendance.NO_SHOW if n % 2 else Attendance.ATTENDED
                                for n, visit in enumerate(visits)
                                if visit.is_approved
                            }
                            slot_attendance_record(slot=slot, marks=marks)
                        elif write == "visitor_moves" and visits:
                            visitor = visits[which % len(visits)].requester
                            visitor.school = schools[(which + hours) % 3]
                            visitor.save()
                        elif write == "host_moves":
                            showcase = slot.showcase
                            showcase.host_school = schools[(which + hours) % 3]
                            showcase.save(update_fields=["host_school"])
                except ValidationError:
                    pass  # refused by the service (a session that started, a request no longer waiting)
        kept = flow_summary_rows()
        today = timezone.localdate()
        first = None if start is None else today + timedelta(days=start)
        last = None if length is None else (first or today - timedelta(days=5)) + timedelta(days=length)
        scope = Scope(school_id=school.pk if one_school else None, level=level, start=first, end=last)
        period = scope.period(today)
        counted = _flows(scope, period, {s.pk: s for s in School.objects.all()})
        expected_flows, expected_windows = _counted_by_hand(scope, period, timezone.now())
        event("counted: " + (", ".join(sorted({kind for kind, _source, _target in expected_flows})) or "nothing"))
        assert {
            (flow.kind, flow.source_id, flow.target_id): (flow.count, flow.seats, flow.checked_in, flow.attended)
            for rows in (*counted.flows.values(), counted.hosting)
            for flow in rows
        } == expected_flows
        assert {key: (counts["count"], counts["seats"]) for key, counts in counted.windows.items()} == expected_windows
        # The whole district over every day, as the page shows it (the busiest two of each kind):
        # from the totals, the same figures as from the days.
        totals, through = flow_total_rows(), flows_through()
        every_school = {s.pk: s for s in School.objects.order_by("name")}
        whole = Scope()
        from_totals = _flows(whole, whole.period(today), every_school, 2)
        FlowMark.objects.all().delete()
        assert from_totals == _flows(whole, whole.period(today), every_school, 2)
        assert through is not None
        flow_totals_rebuild(through)
        assert flow_total_rows() == totals
        summaries_rebuild()
        assert flow_summary_rows() == kept
        transaction.set_rollback(True)
