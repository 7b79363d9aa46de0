"""The practice list finds a school by part of its name, typed in a labelled box: a select of every
school was most of the page in a large district. A link with a school's own slug still names that
school alone."""

import re

import pytest

from practices.models import Visibility
from tests.factories import PracticeFactory, SchoolFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def _titles(response) -> list[str]:
    assert response.status_code == 200
    return sorted(practice.title for practice in response.context["practices"])


@pytest.fixture
def lincolns():
    for name, slug in (("Lincoln", "lincoln"), ("Lincoln High", "lincoln-high"), ("Jefferson", "jefferson")):
        PracticeFactory(author=TeacherFactory(school=SchoolFactory(name=name, slug=slug)), title=f"At {name}")


def test_a_schools_own_slug_means_that_school_alone(as_user, teacher, lincolns):
    client = as_user(teacher)
    assert _titles(client.get("/practices/", {"school": "lincoln"})) == ["At Lincoln"]
    assert _titles(client.get("/practices/", {"school": "jefferson", "q": "practice"})) == []
    assert _titles(client.get("/practices/", {"school": "lincoln-high"})) == ["At Lincoln High"]


def test_part_of_a_name_finds_every_school_holding_it_whatever_the_case(as_user, teacher, lincolns):
    client = as_user(teacher)
    assert _titles(client.get("/practices/", {"school": "LINCOL"})) == ["At Lincoln", "At Lincoln High"]
    assert _titles(client.get("/practices/", {"school": " high "})) == ["At Lincoln High"]
    assert _titles(client.get("/practices/", {"school": "Nowhere"})) == []
    assert _titles(client.get("/practices/", {"school": ""})) == ["At Jefferson", "At Lincoln", "At Lincoln High"]


def test_a_school_filter_shows_only_what_the_reader_may_open(as_user, teacher, other_teacher):
    PracticeFactory(author=other_teacher, title="Kept inside Riverside", visibility=Visibility.SCHOOL)
    PracticeFactory(author=other_teacher, title="Shared by Riverside")
    assert _titles(as_user(teacher).get("/practices/", {"school": "riverside"})) == ["Shared by Riverside"]
    assert _titles(as_user(teacher).get("/practices/", {"school": "Riverside"})) == ["Shared by Riverside"]


def test_the_school_box_is_labelled_and_described_and_lists_no_schools(as_user, teacher, school):
    SchoolFactory(name="Quiet Hollow Academy", slug="quiet-hollow")
    page = as_user(teacher).get("/practices/", {"school": "Maple"}).content.decode()
    box = re.search(r'<input[^>]*name="school"[^>]*>', page)
    assert box is not None
    assert 'type="search"' in box.group() and 'value="Maple"' in box.group()
    assert 'id="id_school"' in box.group() and 'aria-describedby="id_school_helptext"' in box.group()
    assert '<label for="id_school">School</label>' in page
    assert re.search(r'<p class="help" id="id_school_helptext">[^<]+</p>', page)
    assert '<select name="school"' not in page
    # No school is listed for the reader to pick from.
    assert "Quiet Hollow Academy" not in page


def test_the_own_school_link_of_schools_like_mine_still_lists_the_own_school(as_user, teacher, other_teacher):
    PracticeFactory(author=TeacherFactory(school=teacher.school), title="From my own school")
    PracticeFactory(author=other_teacher, title="From Riverside")
    client = as_user(teacher)
    assert _titles(client.get("/practices/", {"sort": "like_mine"})) == ["From Riverside"]
    assert _titles(client.get("/practices/", {"sort": "like_mine", "school": "maple-grove"})) == ["From my own school"]
    # Blank, the box chooses no school: the reader's own is left out still.
    assert _titles(client.get("/practices/", {"sort": "like_mine", "school": "  "})) == ["From Riverside"]
