import csv
import io
from datetime import timedelta
from importlib import import_module

import pytest
from django.utils import timezone

from portal.models import Locale, SchoolLevel
from surveys.models import Answer, Cycle, Response, Tension
from surveys.services import IMPORT_COLUMNS, figures_release
from tests.factories import LeaderFactory, PrincipalFactory, SchoolFactory

# The seven tensions as their data migration writes them (a module name starting with a digit).
SEVEN_TENSIONS = import_module("surveys.migrations.0002_seven_tensions").TENSIONS


def ensure_tensions() -> None:
    """The seven tensions, which a transactional test's flush may have removed."""
    for number, title, left, right in SEVEN_TENSIONS:
        Tension.objects.get_or_create(
            number=number, defaults={"title": title, "left_label": left, "right_label": right}
        )


@pytest.fixture
def cycle(db):
    today = timezone.localdate()
    return Cycle.objects.create(
        name="Fall", slug="fall", opens_on=today - timedelta(days=3), closes_on=today + timedelta(days=10)
    )


# Eight respondents: six principals (five at elementary schools, one at a middle
# school) and two district leaders. None is a skipped item.
T1_POSITIONS = [1, 2, 2, 3, 4, 5, None, None]
T1_RESOURCES = [True, True, False, None, True, False, None, None]
T1_PRIORITY = ["high", "high", "low", "medium", None, None, "high", None]
T2_POSITIONS = [3, 3, 3, 3, 3, 3, 3, 4]
T3_POSITIONS = [1, 1, 2, 2, None, None, None, None]


@pytest.fixture
def known_answers(cycle):
    """A fixture whose every dashboard figure is computed by hand in the tests."""
    elementary = SchoolFactory(
        slug="elem-a", level=SchoolLevel.ELEMENTARY, enrollment=250, frl_percent=80, locale=Locale.CITY
    )
    middle = SchoolFactory(slug="mid-a", level=SchoolLevel.MIDDLE, enrollment=700, frl_percent=20, locale=Locale.RURAL)
    people = (
        [PrincipalFactory(school=elementary) for _ in range(5)]
        + [PrincipalFactory(school=middle)]
        + [LeaderFactory(), LeaderFactory()]
    )
    for index, person in enumerate(people):
        person.first_name, person.last_name = "Respondent", f"Quillfeather{index}"
        person.save()
    tensions = {t.number: t for t in Tension.objects.all()}
    for index, person in enumerate(people):
        response = Response(cycle=cycle, respondent=person)
        response.snapshot(person)
        response.save()
        Answer.objects.create(
            response=response,
            tension=tensions[1],
            position=T1_POSITIONS[index],
            dedicated_resources=T1_RESOURCES[index],
            priority=T1_PRIORITY[index],
            comment="Need more coaching time." if index == 0 else "",
        )
        Answer.objects.create(response=response, tension=tensions[2], position=T2_POSITIONS[index])
        if T3_POSITIONS[index] is not None:
            Answer.objects.create(response=response, tension=tensions[3], position=T3_POSITIONS[index])
    figures_release(cycle=cycle)  # the eight arrive together: one release
    return people


def add_response(cycle, person=None, answers=None, **segments):
    """A response written straight to the database (as seeding or a data fix would), with
    answers {tension number: (position, resources, priority, comment)}."""
    if person is None:
        person = PrincipalFactory()
    response = Response(cycle=cycle, respondent=person)
    response.snapshot(person)
    for name, value in segments.items():
        setattr(response, name, value)
    response.save()
    tensions = {t.number: t for t in Tension.objects.all()}
    for number, (position, resources, priority, comment) in (answers or {1: (3, None, None, "")}).items():
        Answer.objects.create(
            response=response,
            tension=tensions[number],
            position=position,
            dedicated_resources=resources,
            priority=priority,
            comment=comment,
        )
    return response


def answer_form(**answers):
    """The response form's POST data with every item skipped, then `answers` filled in."""
    data = {}
    for k in range(1, 8):
        data.update({f"q{k}_position": "", f"q{k}_resources": "", f"q{k}_priority": "", f"q{k}_comment": ""})
    data.update(answers)
    return data


def close(cycle):
    cycle.opens_on = min(cycle.opens_on, timezone.localdate() - timedelta(days=5))
    cycle.closes_on = timezone.localdate() - timedelta(days=1)
    cycle.save()


def import_csv(rows: list[dict], delimiter: str = ",") -> str:
    """A survey import file with the given cells; every other column blank."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=IMPORT_COLUMNS, delimiter=delimiter)
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in IMPORT_COLUMNS})
    return out.getvalue()
