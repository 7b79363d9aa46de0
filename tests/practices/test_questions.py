"""Questions to the author: anyone who reads an entry asks, its author answers, both are told, answered
questions show on the entry, an anonymous author stays anonymous, and the author or staff hide a question."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.notifications.models import Notification, NotificationKind
from practices.models import Question, Visibility
from tests.factories import PracticeFactory, TeacherFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(teacher):
    return PracticeFactory(author=teacher, title="Exit tickets", visibility=Visibility.DISTRICT)


@pytest.fixture
def secret_author(school):
    return UserFactory(
        username="pq", first_name="Philippa", last_name="Quartermaine", email="pq@hidden.example.org", school=school
    )


@pytest.fixture
def anonymous_practice(secret_author):
    return PracticeFactory(author=secret_author, title="Failing forward with labs", anonymous=True)


def _ask(client, practice, text="How long does sorting take?"):
    return client.post(f"/practices/{practice.pk}/questions/", {"question-text": text})


def _answer(client, question, text="About five minutes."):
    return client.post(
        f"/practices/{question.practice_id}/questions/{question.pk}/answer/", {f"answer-{question.pk}-answer": text}
    )


def test_a_reader_asks_the_author_answers_and_both_are_told(
    as_user, teacher, other_teacher, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _ask(as_user(other_teacher), published)
    assert response.status_code == 302
    question = Question.objects.get()
    assert (question.asker, question.text, question.is_answered) == (
        other_teacher,
        "How long does sorting take?",
        False,
    )
    told = Notification.objects.get(recipient=teacher)
    assert told.kind == NotificationKind.QUESTION
    assert told.text == (
        "Kenji Yamamoto at Riverside Middle School asked about your practice “Exit tickets”: "
        "“How long does sorting take?”"
    )
    assert told.url == f"/practices/{published.pk}/questions/#question-{question.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        assert _answer(as_user(teacher), question).status_code == 302
    answered = Notification.objects.get(recipient=other_teacher)
    assert answered.kind == NotificationKind.ANSWER
    assert answered.text == "Tamika Robinson, the author answered your question about “Exit tickets”"
    assert [message.to for message in mail.outbox] == [[teacher.email], [other_teacher.email]]
    reader = TeacherFactory(school=other_teacher.school)
    page = as_user(reader).get(f"/practices/{published.pk}/").content.decode()
    assert "How long does sorting take?" in page and "About five minutes." in page


def test_unanswered_questions_show_only_on_the_questions_page(as_user, other_teacher, published):
    _ask(as_user(other_teacher), published)
    assert (
        "How long does sorting take?" not in as_user(other_teacher).get(f"/practices/{published.pk}/").content.decode()
    )
    page = as_user(other_teacher).get(f"/practices/{published.pk}/questions/").content.decode()
    assert "How long does sorting take?" in page and "Not answered yet." in page


def test_only_the_author_answers(as_user, principal, staff, other_teacher, published):
    _ask(as_user(other_teacher), published)
    question = Question.objects.get()
    for person in (principal, staff, other_teacher):
        assert _answer(as_user(person), question).status_code == 403
    assert not Question.objects.get().is_answered


def test_the_author_does_not_ask_themselves(as_user, teacher, published):
    assert _ask(as_user(teacher), published).status_code == 403
    assert "Ask the author" not in as_user(teacher).get(f"/practices/{published.pk}/questions/").content.decode()


def test_an_empty_question_comes_back_with_a_message(as_user, other_teacher, published):
    response = _ask(as_user(other_teacher), published, text="   ")
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not Question.objects.exists()


def test_questions_on_an_entry_kept_in_its_school_are_not_found_outside_it(as_user, teacher, principal, other_teacher):
    kept = PracticeFactory(author=teacher, visibility=Visibility.SCHOOL)
    _ask(as_user(principal), kept)
    question = Question.objects.get()
    assert as_user(other_teacher).get(f"/practices/{kept.pk}/questions/").status_code == 404
    assert _ask(as_user(other_teacher), kept).status_code == 404
    assert _answer(as_user(other_teacher), question).status_code == 404


def test_an_anonymous_author_answers_as_the_author_and_is_never_named(
    as_user, secret_author, other_teacher, staff, anonymous_practice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _ask(as_user(other_teacher), anonymous_practice)
    question = Question.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        _answer(as_user(secret_author), question, text="We run labs on Fridays.")
    told = Notification.objects.get(recipient=other_teacher)
    assert told.text == "The author answered your question about “Failing forward with labs”"
    asker_mail = next(message for message in mail.outbox if message.to == [other_teacher.email])
    seen_by_asker = [
        told.text,
        asker_mail.subject,
        asker_mail.body,
        str(asker_mail.extra_headers),
        as_user(other_teacher).get("/notifications/").content.decode(),
        as_user(other_teacher).get(f"/practices/{anonymous_practice.pk}/questions/").content.decode(),
        as_user(other_teacher).get(f"/practices/{anonymous_practice.pk}/").content.decode(),
    ]
    for text in seen_by_asker:
        for secret in ("Philippa", "Quartermaine", "pq@hidden"):
            assert secret not in text, (secret, text[:200])
    questions_page = seen_by_asker[-2]
    assert "Answered by the author" in questions_page and "We run labs on Fridays." in questions_page
    # District staff (who moderate) see who the author is.
    staff_page = as_user(staff).get(f"/practices/{anonymous_practice.pk}/questions/").content.decode()
    assert "Philippa Quartermaine" in staff_page


def test_the_author_or_staff_hide_a_question(as_user, teacher, principal, staff, other_teacher, published):
    _ask(as_user(other_teacher), published)
    question = Question.objects.get()
    hide = f"/practices/{published.pk}/questions/{question.pk}/hide/"
    assert as_user(principal).post(hide).status_code == 403
    assert as_user(teacher).post(hide).status_code == 302
    assert Question.objects.get().is_hidden
    assert (
        "How long does sorting take?"
        not in as_user(principal).get(f"/practices/{published.pk}/questions/").content.decode()
    )
    # Its asker, the author and staff still see it, marked hidden.
    for person in (other_teacher, teacher, staff):
        assert (
            "How long does sorting take?"
            in as_user(person).get(f"/practices/{published.pk}/questions/").content.decode()
        )
    # A hidden question is not found by others, even to act on.
    assert as_user(principal).post(hide).status_code == 404
    assert as_user(staff).post(hide, {"action": "unhide"}).status_code == 302
    assert not Question.objects.get().is_hidden


def test_a_hidden_answered_question_leaves_the_practice_page(as_user, teacher, principal, other_teacher, published):
    _ask(as_user(other_teacher), published)
    question = Question.objects.get()
    _answer(as_user(teacher), question)
    as_user(teacher).post(f"/practices/{published.pk}/questions/{question.pk}/hide/")
    assert "About five minutes." not in as_user(principal).get(f"/practices/{published.pk}/").content.decode()


def test_the_questions_page_runs_a_fixed_number_of_queries(as_user, teacher, school, published):
    """Session, user, the entry, its questions with their askers and schools: fixed, whatever their number."""
    client = as_user(teacher)

    def count():
        client.get(f"/practices/{published.pk}/questions/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/practices/{published.pk}/questions/").status_code == 200
        return len(queries)

    Question.objects.create(practice=published, asker=TeacherFactory(school=school), text="One?")
    few = count()
    for n in range(8):
        Question.objects.create(practice=published, asker=TeacherFactory(), text=f"Question {n}?")
    assert count() == few <= 6
