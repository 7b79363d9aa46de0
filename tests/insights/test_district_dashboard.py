"""The district dashboard: every figure equals a hand computation on a small fixture."""

import csv
import io
import itertools
from datetime import date, timedelta

import pytest
from django.utils import timezone

from insights.district import Scope, _every_month, build_district_dashboard
from insights.summaries import day_start
from portal.lib.figures import FIGURES_SECONDS, figures_changed
from practices.models import Adoption
from showcases.models import Attendance, RequestStatus, VisitRequest
from showcases.services import slot_attendance_record
from tests.factories import (
    FailureFactory,
    IterationFactory,
    PracticeFactory,
    SchoolFactory,
    TeacherFactory,
    VisitSlotFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def district(school, other_school, teacher, other_teacher, principal):
    """Maple Grove (elementary) publishes 4: 2 with failures, 1 with 2+ iterations, 1 draft.
    Riverside (middle) publishes 1 with a failure and 2 iterations. A third school shares nothing.
    Riverside adopts two Maple Grove practices and adapts one; Maple Grove adopts Riverside's.
    Maple Grove hosts one past session with 2 approved seats from Riverside."""
    silent = SchoolFactory(slug="silent", name="Silent Springs High", level="high")
    now = timezone.now()
    a = [
        PracticeFactory(author=teacher, title=f"Maple {n}", published_at=now - timedelta(days=10 + n * 40))
        for n in range(4)
    ]
    FailureFactory(practice=a[0])
    FailureFactory(practice=a[1])
    IterationFactory.create_batch(2, practice=a[2])
    IterationFactory(practice=a[3])
    PracticeFactory(author=teacher, status="draft", published_at=None)
    b = PracticeFactory(author=other_teacher, title="River 1", published_at=now - timedelta(days=5))
    FailureFactory(practice=b)
    IterationFactory.create_batch(2, practice=b)
    Adoption.objects.create(practice=a[0], user=other_teacher, school=other_school)
    Adoption.objects.create(practice=a[1], user=TeacherFactory(school=other_school), school=other_school)
    Adoption.objects.create(practice=b, user=teacher, school=school)
    PracticeFactory(
        author=TeacherFactory(school=other_school),
        title="River adaptation",
        adapted_from=a[0],
        lineage_root=a[0],
        published_at=now - timedelta(days=2),
    )
    past = now - timedelta(days=3)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2), capacity=5)
    slot.seats_taken = 2
    slot.save()
    VisitRequest.objects.create(slot=slot, requester=other_teacher, seats=2, status="approved")
    return silent


def test_figures_equal_a_hand_computation(as_user, leader, district):
    response = as_user(leader).get("/dashboard/")
    assert response.status_code == 200
    d = response.context["d"]
    # Published: Maple 4 + River 1 + River adaptation 1 = 6; failures: 3 of 6 (50%);
    # 2+ iterations: Maple 2 and River 1 = 2 of 6 (33%).
    assert (d.totals["published"], d.totals["failures_pct"], d.totals["evolution_pct"]) == (6, 50, 33)
    rows = {row.school.slug: row for row in d.schools}
    maple, river = rows["maple-grove"], rows["riverside"]
    # Published 10, 50, 90 and 130 days ago: two in the last 90 days.
    assert (maple.published, maple.recent, maple.failures_pct, maple.evolution_pct) == (4, 2, 50, 25)
    assert (river.published, river.failures_pct, river.evolution_pct) == (2, 50, 50)
    assert (maple.adopted_out, maple.adopted_in, maple.balance) == (2, 1, "mostly shares")
    assert (river.adopted_out, river.adopted_in, river.balance) == (1, 2, "mostly borrows")
    assert [s.slug for s in d.silent_schools] == ["silent"]
    adoptions = {(f.source, f.target): f.count for f in d.flows["adoption"]}
    assert adoptions == {
        ("Maple Grove Elementary", "Riverside Middle School"): 2,
        ("Riverside Middle School", "Maple Grove Elementary"): 1,
    }
    assert [(f.source, f.target, f.count) for f in d.flows["adaptation"]] == [
        ("Maple Grove Elementary", "Riverside Middle School", 1)
    ]
    assert [(f.source, f.target, f.count) for f in d.flows["visit"]] == [
        ("Maple Grove Elementary", "Riverside Middle School", 1)
    ]
    # Nobody checked visitors in: the approved seats count as filled.
    assert [(f.source, f.count, f.seats, f.checked_in, f.attended) for f in d.hosting] == [
        ("Maple Grove Elementary", 1, 2, 0, 0)
    ]
    assert [(r["practice_title"], r["n"]) for r in d.top_adapted] == [("Maple 0", 1)]
    assert sorted((r["practice_title"], r["n"]) for r in d.top_adopted) == [
        ("Maple 0", 1),
        ("Maple 1", 1),
        ("River 1", 1),
    ]


def _held(principal, requesters, *, days_ago=2):
    """A past session of the principal's school with one approved party per (requester, seats)."""
    past = timezone.now() - timedelta(days=days_ago)
    slot = VisitSlotFactory(showcase__host=principal, starts_at=past, ends_at=past + timedelta(hours=2), capacity=10)
    visits = [
        VisitRequest.objects.create(slot=slot, requester=requester, seats=seats, status=RequestStatus.APPROVED)
        for requester, seats in requesters
    ]
    slot.seats_taken = sum(seats for _requester, seats in requesters)
    slot.save()
    return slot, visits


def test_seats_filled_count_who_attended_once_the_host_checks_visitors_in(
    as_user, leader, principal, district, other_school, django_capture_on_commit_callbacks
):
    """The fixture's session (2 approved seats) is not checked in; a second session has parties of
    3 and 1 approved, and the host checks in the party of 3 as attended and the other as no-show."""
    slot, (came, absent) = _held(
        principal, [(TeacherFactory(school=other_school), 3), (TeacherFactory(school=other_school), 1)]
    )
    with django_capture_on_commit_callbacks(execute=True):
        slot_attendance_record(slot=slot, marks={came.pk: Attendance.ATTENDED, absent.pk: Attendance.NO_SHOW})
    response = as_user(leader).get("/dashboard/")
    d = response.context["d"]
    # Seats filled: 3 attended at the session checked in, and 2 approved at the one not checked in.
    assert [(f.source, f.count, f.seats, f.checked_in, f.attended) for f in d.hosting] == [
        ("Maple Grove Elementary", 2, 5, 1, 3)
    ]
    assert (d.totals["sessions"], d.totals["seats"]) == (2, 5)
    assert (d.totals["sessions_checked_in"], d.totals["seats_attended"]) == (1, 3)
    # A visitor checked in as a no-show made no visit between the schools.
    assert {(f.source, f.target): f.count for f in d.flows["visit"]} == {
        ("Maple Grove Elementary", "Riverside Middle School"): 2
    }
    page = response.content.decode()
    assert "5 seats filled (3 by visitors checked in at 1 session, approved seats for the rest)" in page
    assert '<td class="num">5<span class="cell-label">Seats filled</span></td><td class="num">3 (1)<span' in page
    rows = list(
        csv.DictReader(
            io.StringIO(as_user(leader).get("/dashboard/", {"download": "hosting"}).content.decode("utf-8-sig"))
        )
    )
    assert rows == [
        {
            "host_school": "Maple Grove Elementary",
            "sessions_held": "2",
            "seats_filled": "5",
            "sessions_checked_in": "1",
            "seats_attended": "3",
        }
    ]


def test_a_session_everyone_missed_fills_no_seats(
    as_user, leader, principal, other_school, django_capture_on_commit_callbacks
):
    slot, (visit,) = _held(principal, [(TeacherFactory(school=other_school), 2)])
    with django_capture_on_commit_callbacks(execute=True):
        slot_attendance_record(slot=slot, marks={visit.pk: Attendance.NO_SHOW})
    d = as_user(leader).get("/dashboard/").context["d"]
    assert [(f.count, f.seats, f.checked_in, f.attended) for f in d.hosting] == [(1, 0, 1, 0)]
    assert "approved seats: no host" not in as_user(leader).get("/dashboard/").content.decode()


def test_the_dashboard_says_when_no_host_has_checked_visitors_in(as_user, leader, district):
    assert (
        "2 seats filled (approved seats: no host has checked visitors in)"
        in as_user(leader).get("/dashboard/").content.decode()
    )


def test_filters_by_level_and_date(as_user, leader, district):
    client = as_user(leader)
    d = client.get("/dashboard/", {"level": "middle"}).context["d"]
    assert [row.school.slug for row in d.schools] == ["riverside"]
    start = (timezone.localdate() - timedelta(days=20)).isoformat()
    d = client.get("/dashboard/", {"start": start}).context["d"]
    # Since 20 days ago: Maple 0 (10 days), River 1, River adaptation.
    assert d.totals["published"] == 3


def test_bad_date_range_is_explained(as_user, leader, district):
    response = as_user(leader).get("/dashboard/", {"start": "2026-05-01", "end": "2026-04-01"})
    html = response.content.decode()
    assert "The end date must be on or after the start date." in html
    # The figures shown are the unfiltered ones, and the page says so rather than "in the period".
    assert response.context["d"].totals["published"] == 6
    assert "The filter was not applied" in html
    assert "in the period" not in html


def test_a_valid_period_is_named_in_the_figures(as_user, leader, district):
    html = as_user(leader).get("/dashboard/", {"start": "2020-01-01"}).content.decode()
    assert "practices published in the period" in html
    assert "The filter was not applied" not in html


def test_the_month_series_runs_without_gaps(as_user, leader, district):
    months = as_user(leader).get("/dashboard/").context["d"].months
    firsts = [m["month"] for m in months]
    # Maple practices were published 10 to 130 days ago: every month in between is listed once.
    assert firsts == sorted(set(firsts))
    for earlier, later in itertools.pairwise(firsts):
        assert (later.year * 12 + later.month) - (earlier.year * 12 + earlier.month) == 1
    assert sum(m["published"] for m in months) == 6


def test_every_month_fills_the_gaps_between_publications():
    series = _every_month(
        [
            {"month": date(2026, 3, 1), "published": 2, "failures_pct": 50, "evolution_pct": 0},
            {"month": date(2025, 11, 1), "published": 1, "failures_pct": 0, "evolution_pct": 100},
        ]
    )
    assert [m["month"] for m in series] == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert [m["published"] for m in series] == [1, 0, 0, 0, 2]
    assert _every_month([]) == []


def test_every_table_downloads_as_csv(as_user, leader, district):
    client = as_user(leader)
    for table in ["schools", "months", "levels", "flows", "hosting", "top", "featured", "say_vs_do"]:
        response = client.get("/dashboard/", {"download": table})
        assert response["Content-Type"].startswith("text/csv"), table
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0], table
    schools = list(
        csv.DictReader(io.StringIO(client.get("/dashboard/", {"download": "schools"}).content.decode("utf-8-sig")))
    )
    maple = next(r for r in schools if r["school"] == "Maple Grove Elementary")
    assert (maple["published"], maple["with_failures_pct"], maple["balance"]) == ("4", "50", "mostly shares")
    assert client.get("/dashboard/", {"download": "nope"}).status_code == 404


def test_principal_sees_only_their_school(as_user, principal, district):
    response = as_user(principal).get("/dashboard/")
    d = response.context["d"]
    # Their dashboard has no school-level filter: it covers one school.
    assert "level" not in response.context["form"].fields
    assert 'name="level"' not in response.content.decode()
    assert [row.school.slug for row in d.schools] == ["maple-grove"]
    assert d.totals["published"] == 4
    assert all("Maple Grove Elementary" in (f.source, f.target) for kind in d.flows.values() for f in kind)


def test_staff_see_the_district(as_user, staff, district):
    assert len(as_user(staff).get("/dashboard/").context["d"].schools) == 3


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_query_count_is_fixed(as_user, leader, district, django_assert_max_num_queries):
    """Session, user, schools (with their figures), months, flows (the mark of their totals,
    the days since (one UNION), the schools' totals, the pairs that may be shown), top adopted,
    top adapted, featured, survey cycle, tension 7: fixed, whatever the data size.
    (Measured when the figures are counted, not read back from the cache.)"""

    client = as_user(leader)
    client.get("/dashboard/")
    figures_changed("district")
    with django_assert_max_num_queries(13) as captured:
        client.get("/dashboard/")
    few = len(captured)
    for n in range(5):
        extra_school = SchoolFactory(slug=f"extra-{n}")
        practice = PracticeFactory(author=TeacherFactory(school=extra_school))
        FailureFactory(practice=practice)
        Adoption.objects.create(practice=practice, user=TeacherFactory(), school=SchoolFactory(slug=f"adopter-{n}"))
    figures_changed("district")
    with django_assert_max_num_queries(few):
        client.get("/dashboard/")


def test_figures_are_counted_once_per_few_minutes_and_say_when(
    as_user, leader, principal, teacher, district, django_assert_max_num_queries
):
    client = as_user(leader)
    first = client.get("/dashboard/")
    assert f"they are recounted every {FIGURES_SECONDS // 60} minutes" in first.content.decode()
    PracticeFactory(author=teacher)
    with django_assert_max_num_queries(3):  # session, user, nothing counted
        again = client.get("/dashboard/")
    assert again.context["d"].totals["published"] == first.context["d"].totals["published"] == 6
    assert '<p class="stat-value">6</p>' in again.content.decode()
    # The kept markup follows the filters it was drawn for.
    assert "level=middle&amp;download=schools" in client.get("/dashboard/", {"level": "middle"}).content.decode()
    figures_changed("district")
    recounted = client.get("/dashboard/")
    assert recounted.context["d"].totals["published"] == 7
    assert '<p class="stat-value">7</p>' in recounted.content.decode()
    # Each scope has its own copy: the principal's school is not the district's.
    assert as_user(principal).get("/dashboard/").context["d"].totals["published"] == 5


def test_the_page_shows_the_busiest_flows_and_the_download_has_them_all(as_user, leader, teacher):
    practice = PracticeFactory(author=teacher)
    for n in range(17):
        adopter = TeacherFactory(school=SchoolFactory(slug=f"adopter-{n}"))
        Adoption.objects.create(practice=practice, user=adopter, school=adopter.school)
    client = as_user(leader)
    page = client.get("/dashboard/")
    assert len(page.context["d"].flows["adoption"]) == 15
    assert "Adoptions between schools: the 15 busiest of 17" in page.content.decode()
    rows = list(csv.reader(io.StringIO(client.get("/dashboard/", {"download": "flows"}).content.decode())))
    assert sum(row[0] == "adoption" for row in rows) == 17


def test_the_page_keeps_the_busiest_flows_in_the_downloads_order_and_counts_them_all(teacher, principal):
    """The page keeps only the busiest flows of each kind and the busiest hosts, busiest first then
    by the schools' names, as the download orders every flow; how many there are, the totals, the
    schools' adoptions and who learns from whom are counted over them all."""
    now = timezone.now()
    shared, other = PracticeFactory(author=teacher), PracticeFactory(author=teacher)
    adopters = []
    for n in range(6):
        # Named in the reverse of the order they are made, so only the names order the ties.
        adopter = TeacherFactory(school=SchoolFactory(slug=f"adopter-{n}", name=f"Adopter {5 - n}"))
        Adoption.objects.create(practice=shared, user=adopter, school=adopter.school)
        adopters.append(adopter)
    Adoption.objects.create(practice=other, user=adopters[0], school=adopters[0].school)
    # Visits: one session held days ago, one held earlier today (read from the sessions, not the
    # summary), both from the same school, so the two count as one flow.
    for starts_at in (now - timedelta(days=3), max(day_start(timezone.localdate()), now - timedelta(hours=1))):
        slot = VisitSlotFactory(showcase__host=principal, starts_at=starts_at, ends_at=starts_at + timedelta(hours=2))
        for adopter in adopters[:2]:
            VisitRequest.objects.create(slot=slot, requester=adopter, seats=1, status=RequestStatus.APPROVED)
    VisitSlotFactory(showcase__host=TeacherFactory(school=adopters[3].school), starts_at=now - timedelta(days=4))

    every = build_district_dashboard(Scope(), with_survey=False)
    page = build_district_dashboard(Scope(), with_survey=False, flows_shown=3)

    assert [(f.target, f.count) for f in page.flows["adoption"]] == [
        ("Adopter 5", 2),
        ("Adopter 0", 1),
        ("Adopter 1", 1),
    ]
    assert [(f.target, f.count) for f in page.flows["visit"]] == [("Adopter 4", 2), ("Adopter 5", 2)]
    for kind, flows in every.flows.items():
        assert page.flows[kind] == flows[:3]
    assert page.hosting == every.hosting[:3] and len(every.hosting) == page.hosts_in_all == 2
    assert page.flow_counts == every.flow_counts == {"adoption": 6, "adaptation": 0, "visit": 2}
    assert page.totals == every.totals and page.totals["adoptions"] == 7 and page.totals["sessions"] == 3
    assert page.schools == every.schools
    assert page.exchange is not None and page.exchange == every.exchange and page.exchange.schools_in_all == 7


def test_a_month_without_publications_is_marked_in_the_chart(as_user, leader, teacher):
    now = timezone.now()
    PracticeFactory(author=teacher, published_at=now - timedelta(days=70))
    PracticeFactory(author=teacher, published_at=now - timedelta(days=1))
    response = as_user(leader).get("/dashboard/")
    months = response.context["d"].months
    # 70 days span at least one whole calendar month in which nothing was published.
    assert len(months) >= 3 and any(m["published"] == 0 for m in months)
    chart = response.content.decode().split('<svg class="chart openness-chart"')[1].split("</svg>")[0]
    # Two points of each line; the month in between is marked and breaks both lines.
    assert chart.count("<circle") == 2 and chart.count("<rect") == 2 and ">none</text>" in chart
    assert "<path" not in chart


def test_a_practice_kept_in_its_school_is_named_only_on_that_schools_dashboard(
    as_user, leader, staff, principal, teacher, school
):
    """The district's figures are kept once and read by every leader and staff member, so
    they name only practices shared with the whole district; the school's own principal
    still sees its entries."""
    kept = PracticeFactory(
        author=teacher, title="Maple staff-room secret", visibility="school", featured_at=timezone.now()
    )
    Adoption.objects.create(practice=kept, user=TeacherFactory(school=school), school=school)
    PracticeFactory(author=TeacherFactory(school=school), adapted_from=kept, lineage_root=kept, visibility="school")
    for reader in (staff, leader):
        client = as_user(reader)
        assert "staff-room secret" not in client.get("/dashboard/").content.decode()
        for table in ("top", "featured"):
            download = client.get("/dashboard/", {"download": table}).content.decode("utf-8-sig")
            assert "staff-room secret" not in download, table
    client = as_user(principal)
    data = client.get("/dashboard/").context["d"]
    assert [row["practice_title"] for row in data.top_adopted] == ["Maple staff-room secret"]
    assert [row["practice_title"] for row in data.top_adapted] == ["Maple staff-room secret"]
    assert [p.title for p in data.featured] == ["Maple staff-room secret"]
    assert "staff-room secret" in client.get("/dashboard/", {"download": "top"}).content.decode("utf-8-sig")


def test_most_adapted_counts_only_adaptations_every_reader_may_open(as_user, leader, teacher, other_teacher):
    original = PracticeFactory(author=teacher, title="Shared original")
    PracticeFactory(author=other_teacher, adapted_from=original, lineage_root=original)
    PracticeFactory(author=other_teacher, adapted_from=original, lineage_root=original, visibility="school")
    data = as_user(leader).get("/dashboard/").context["d"]
    assert [(row["practice_title"], row["n"]) for row in data.top_adapted] == [("Shared original", 1)]


def test_a_large_district_shows_its_most_active_schools_first_and_downloads_every_school(as_user, leader, district):
    """The table draws the 50 most active schools (published, adopted by and from others),
    busiest first, and says so; the figures over schools and the download cover every school."""
    for n in range(50):
        SchoolFactory(slug=f"quiet-{n:02d}", name=f"Quiet {n:02d}")
    response = as_user(leader).get("/dashboard/")
    d = response.context["d"]
    assert (len(d.schools), d.schools_in_all) == (50, 53)
    assert [row.school.slug for row in d.schools[:3]] == ["maple-grove", "riverside", "quiet-00"]
    assert len(d.silent_schools) == 51 and d.by_level[0][1] == 51  # elementary: Maple Grove and the quiet ones
    page = response.content.decode()
    assert "Showing the 50 most active of 53 schools" in page
    assert "per school: the 50 most active of 53</caption>" in page
    download = as_user(leader).get("/dashboard/", {"download": "schools"}).content.decode("utf-8-sig")
    assert len(list(csv.DictReader(io.StringIO(download)))) == 53


def test_a_small_district_shows_every_school_without_a_note(as_user, leader, district):
    page = as_user(leader).get("/dashboard/").content.decode()
    assert "most active of" not in page and "Silent Springs High" in page
