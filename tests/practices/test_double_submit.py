"""A form sent twice (a double click, a retry on a slow line) or two colleagues acting at once: a
question is asked once, the asker hears of the first answer once, a new collection is made once and
nobody gets an error page. The simultaneous cases run on PostgreSQL with real threads, as the views
hold the locks."""

import threading

import pytest
from django.db import connection, connections
from django.test import Client

from portal.notifications.models import Notification, NotificationKind
from practices.models import (
    AdoptionReport,
    Collection,
    CollectionItem,
    CollectionSharing,
    Failure,
    Question,
    Visibility,
)
from practices.services import adoption_record
from tests.factories import PracticeFactory, SchoolFactory, TeacherFactory


def _ask(client, practice, text="How long does sorting take?"):
    return client.post(f"/practices/{practice.pk}/questions/", {"question-text": text})


@pytest.mark.django_db
def test_the_same_question_sent_twice_is_asked_once(as_user, teacher, other_teacher):
    practice = PracticeFactory(author=teacher, title="Exit tickets", visibility=Visibility.DISTRICT)
    client = as_user(other_teacher)
    assert _ask(client, practice).status_code == 302
    assert _ask(client, practice).status_code == 302
    assert Question.objects.count() == 1
    assert Notification.objects.filter(recipient=teacher, kind=NotificationKind.QUESTION).count() == 1
    # A different question is a new one.
    assert _ask(client, practice, "And with forty students?").status_code == 302
    assert Question.objects.count() == 2


def _at_once(requests):
    """Send each (client, path, data) POST at the same moment; the statuses, in order."""
    barrier = threading.Barrier(len(requests))
    statuses: list[int | None] = [None] * len(requests)
    errors: list[BaseException] = []

    def send(index, client, path, data):
        try:
            barrier.wait()
            statuses[index] = client.post(path, data).status_code
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(i, *request)) for i, request in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return statuses


def _client(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.fixture
def people(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("simultaneous requests are checked on PostgreSQL")
    school = SchoolFactory()
    author, reader, colleague = (TeacherFactory(school=school) for _ in range(3))
    practice = PracticeFactory(author=author, title="Exit tickets", visibility=Visibility.DISTRICT)
    return author, reader, colleague, practice


def test_a_question_sent_twice_at_once_is_asked_once(people):
    author, reader, _colleague, practice = people
    path = f"/practices/{practice.pk}/questions/"
    data = {"question-text": "How long does sorting take?"}
    assert _at_once([(_client(reader), path, data), (_client(reader), path, data)]) == [302, 302]
    assert Question.objects.count() == 1
    assert Notification.objects.filter(recipient=author, kind=NotificationKind.QUESTION).count() == 1


def test_a_first_answer_sent_twice_at_once_tells_the_asker_once(people):
    author, reader, _colleague, practice = people
    question = Question.objects.create(practice=practice, asker=reader, text="How long?")
    path = f"/practices/{practice.pk}/questions/{question.pk}/answer/"
    data = {f"answer-{question.pk}-answer": "Five minutes."}
    assert _at_once([(_client(author), path, data), (_client(author), path, data)]) == [302, 302]
    assert Notification.objects.filter(recipient=reader, kind=NotificationKind.ANSWER).count() == 1


def test_saving_into_a_new_collection_twice_at_once_makes_one(people):
    _author, reader, _colleague, practice = people
    path = f"/practices/{practice.pk}/save/"
    data = {"collection": "", "new_name": "Try in spring", "note": "Ask first."}
    statuses = _at_once([(_client(reader), path, data), (_client(reader), path, data)])
    # The second finds the first made (saved into it), or, checked after it, says the name is taken.
    assert sorted(statuses) in ([302, 302], [302, 400])
    collection = Collection.objects.get()
    assert collection.name == "Try in spring" and collection.items.count() == 1


def test_a_new_collection_sent_twice_at_once_is_made_once(people):
    _author, reader, _colleague, _practice = people
    data = {"name": "Fall PLC", "description": "", "sharing": CollectionSharing.PRIVATE}
    statuses = _at_once([(_client(reader), "/collections/new/", data), (_client(reader), "/collections/new/", data)])
    assert sorted(statuses) in ([302, 302], [302, 400])
    assert Collection.objects.filter(owner=reader).count() == 1


def test_two_colleagues_save_the_same_practice_into_their_team_collection_at_once(people):
    _author, reader, colleague, practice = people
    team = Collection.objects.create(owner=reader, name="Fall PLC", sharing=CollectionSharing.TEAM)
    team.members.set([colleague])
    path = f"/practices/{practice.pk}/save/"
    requests = [
        (_client(reader), path, {"collection": str(team.pk), "note": "Mine."}),
        (_client(colleague), path, {"collection": str(team.pk), "note": "Theirs."}),
    ]
    assert _at_once(requests) == [302, 302]
    assert CollectionItem.objects.filter(collection=team, practice=practice).count() == 1


def test_the_same_report_sent_twice_at_once_is_one_step(people):
    author, reader, _colleague, practice = people
    path = f"/practices/{practice.pk}/adopt/"
    data = {"adoption-status": "trying", "adoption-notes": "Period 2 first."}
    assert _at_once([(_client(reader), path, data), (_client(reader), path, data)]) == [302, 302]
    assert practice.adoptions.get().reports.count() == 1
    assert Notification.objects.filter(recipient=author, kind=NotificationKind.ADOPTION).count() == 1


def test_a_report_turned_into_a_failure_twice_at_once_adds_one(people):
    _author, reader, _colleague, practice = people
    adoption_record(practice=practice, user=reader, status="stopped", notes="Ten minutes we did not have.")
    adaptation = PracticeFactory(author=reader, adapted_from=practice, lineage_root=practice)
    report = AdoptionReport.objects.get()
    path = f"/practices/{practice.pk}/reports/{report.pk}/to-failure/"
    data = {"adaptation": str(adaptation.pk)}
    statuses = _at_once([(_client(reader), path, data), (_client(reader), path, data)])
    assert sorted(statuses) in ([302, 302], [302, 403])
    assert Failure.objects.filter(practice=adaptation).count() == 1
