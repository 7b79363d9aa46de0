"""A school's page: its profile, the practices it shares as the reader may see them, its
showcases as the reader may see them, and its openness over those same practices."""

from datetime import timedelta

import pytest
from django.utils import timezone

from portal.naming import ANONYMOUS_LABEL
from tests.factories import FailureFactory, PracticeFactory, PrincipalFactory, TeacherFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def maple(school, teacher, principal):
    """Maple Grove shares two practices with the district (one with a failure, one anonymous),
    keeps one inside the school, has a draft, and hosts a published and a draft showcase."""
    now = timezone.now()
    shared = PracticeFactory(author=teacher, title="Exit tickets", published_at=now - timedelta(days=40))
    FailureFactory(practice=shared)
    PracticeFactory(author=teacher, title="Quiet reading", anonymous=True, published_at=now - timedelta(days=5))
    PracticeFactory(author=teacher, title="Staff-room secret", visibility="school", published_at=now)
    PracticeFactory(author=teacher, title="Half-written idea", status="draft", published_at=None)
    VisitSlotFactory(showcase__host=principal, showcase__title="Student-led conferences")
    VisitSlotFactory(showcase__host=principal, showcase__title="Not ready yet", showcase__status="draft")
    return school


def test_the_profile_and_what_a_teacher_of_another_school_may_see(as_user, other_teacher, maple):
    response = as_user(other_teacher).get(f"/schools/{maple.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    for fact in ("Elementary", "420 students", "68%", "City"):
        assert fact in html
    page = response.context["page"]
    assert [p.title for p in page.practices] == ["Quiet reading", "Exit tickets"]
    assert "Staff-room secret" not in html and "Half-written idea" not in html
    # Figures count only what the reader may open: 2 practices, 1 with a failure.
    assert (page.published, page.failures_pct) == (2, 50)
    assert [s.title for s in page.showcases] == ["Student-led conferences"]
    assert ANONYMOUS_LABEL in html
    assert 'role="img" aria-labelledby="open-title open-desc"' in html


def test_a_colleague_at_the_school_also_sees_what_it_keeps_inside(as_user, school, maple):
    page = as_user(TeacherFactory(school=school)).get(f"/schools/{maple.slug}/").context["page"]
    assert {p.title for p in page.practices} == {"Exit tickets", "Quiet reading", "Staff-room secret"}
    assert page.published == 3


def test_the_host_school_sees_its_draft_showcase_too(as_user, principal, maple):
    page = as_user(principal).get(f"/schools/{maple.slug}/").context["page"]
    assert {s.title for s in page.showcases} == {"Student-led conferences", "Not ready yet"}


def test_every_practice_on_the_page_opens_for_its_reader(as_user, other_teacher, leader, staff, maple):
    for reader in (other_teacher, leader, staff):
        client = as_user(reader)
        page = client.get(f"/schools/{maple.slug}/").context["page"]
        for practice in page.practices:
            assert client.get(practice.get_absolute_url()).status_code == 200


def test_an_unknown_school_is_not_found(as_user, teacher):
    assert as_user(teacher).get("/schools/no-such-school/").status_code == 404


def test_anonymous_visitor_is_sent_to_sign_in(client, maple):
    response = client.get(f"/schools/{maple.slug}/")
    assert response.status_code == 302 and response.url.startswith("/accounts/login/")


def test_a_school_with_nothing_shared_says_so(as_user, teacher, other_school):
    html = as_user(teacher).get(f"/schools/{other_school.slug}/").content.decode()
    assert "No practices from this school that you can open yet." in html
    assert "No showcases from this school yet." in html


def test_queries_do_not_grow_with_practices_or_showcases(
    as_user, other_teacher, school, maple, django_assert_max_num_queries
):
    """Session, user, school, the months' counts, the latest practices and their tags, the
    showcases: fixed, however much the school shares."""
    client = as_user(other_teacher)
    client.get("/")
    with django_assert_max_num_queries(8) as captured:
        client.get(f"/schools/{maple.slug}/")
    for n in range(6):
        practice = PracticeFactory(author=TeacherFactory(school=school), title=f"More {n}")
        FailureFactory(practice=practice)
        VisitSlotFactory(showcase__host=PrincipalFactory(school=school))
    with django_assert_max_num_queries(len(captured)):
        client.get(f"/schools/{maple.slug}/")
