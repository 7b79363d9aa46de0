"""An entry's page shows what people wrote, drawn from markdown (kept per text by each
process): any change, however it is made, shows at once, and each entry shows its own texts."""

import pytest

from practices.models import Failure, Iteration, Practice
from tests.factories import FailureFactory, IterationFactory, PracticeFactory

pytestmark = pytest.mark.django_db


def _page(client, practice) -> str:
    return client.get(f"/practices/{practice.pk}/").content.decode()


def test_texts_changed_without_the_entry_being_saved_show_at_once(as_user, teacher):
    """Changes made outside the form (the admin, a data fix) do not touch the entry's dates."""
    practice = PracticeFactory(author=teacher, description="The old way")
    iteration = IterationFactory(practice=practice, observed="Old observation")
    failure = FailureFactory(practice=practice, why="Old reason")
    client = as_user(teacher)
    assert "The old way" in _page(client, practice)
    Practice.objects.filter(pk=practice.pk).update(description="The *new* way", impact="Fresh impact")
    Iteration.objects.filter(pk=iteration.pk).update(observed="New observation")
    Failure.objects.filter(pk=failure.pk).update(why="New reason")
    page = _page(client, practice)
    assert "The <em>new</em> way" in page and "The old way" not in page
    assert "Fresh impact" in page
    assert "New observation" in page and "Old observation" not in page
    assert "New reason" in page and "Old reason" not in page


def test_entries_whose_texts_run_together_alike_keep_their_own(as_user, teacher):
    first = PracticeFactory(author=teacher, intent="Start here:", description="then go on")
    second = PracticeFactory(author=teacher, intent="Start here", description=":then go on")
    client = as_user(teacher)
    first_page, second_page = _page(client, first), _page(client, second)
    assert "<p>Start here:</p>" in first_page and "<p>then go on</p>" in first_page
    assert "<p>Start here</p>" in second_page and "<p>:then go on</p>" in second_page
