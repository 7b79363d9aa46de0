import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from portal.notifications.models import NotificationKind
from portal.notifications.services import notify
from practices.models import Adoption, Collection, CollectionItem, Facet, Practice, Question
from practices.services import adoption_record, practice_refresh_derived, question_answer
from tests.browser.conftest import AXE_SCRIPT, WCAG_TAGS, Journey
from tests.factories import TEST_PASSWORD, FailureFactory, IterationFactory, PracticeFactory
from tests.practices.helpers import practice_post

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def facets(transactional_db):
    # Data migrations are flushed between transactional tests; bring the vocabulary back.
    for kind, slug, name in [
        ("subject", "mathematics", "Mathematics"),
        ("grade_band", "3-5", "3–5"),
        ("evidence", "student-work", "Student work"),
    ]:
        Facet.objects.get_or_create(kind=kind, slug=slug, defaults={"name": name})


def test_write_and_publish_with_iterations_and_failures(journey, teacher, facets):
    page = journey.page
    journey.sign_in("teacher", TEST_PASSWORD)
    page.get_by_role("link", name="Practices", exact=True).click()
    journey.check()
    page.get_by_role("link", name="Share a practice").click()
    journey.check()
    page.get_by_label("Title").fill("Exit tickets that change tomorrow")
    page.get_by_label("Summary").fill("Three questions, sorted the same day.")
    page.get_by_label("Intent").fill("Catch misconceptions the same day.")
    page.get_by_label("The practice (needed to publish)").fill("1. Ask three questions.\n2. Sort into piles.")
    page.get_by_label("Mathematics").check()
    # First iteration row is there; add two more with the button (JavaScript copies the row).
    page.locator("#id_iterations-0-tried").fill("Five questions, graded")
    page.get_by_role("button", name="Add another iteration").click()
    page.locator("#id_iterations-1-tried").fill("Three questions, two piles")
    page.get_by_role("button", name="Add another iteration").click()
    page.locator("#id_iterations-2-tried").fill("Three piles and regrouping")
    page.locator("#id_failures-0-tried").fill("Grading the tickets")
    page.locator("#id_failures-0-why").fill("It made them high-stakes")
    page.get_by_role("button", name="Add another failure").click()
    page.locator("#id_failures-1-tried").fill("Laptops for tickets")
    # Move the last iteration up one place with the keyboard-usable button.
    page.locator("[data-formset=iterations] [data-row]").nth(2).get_by_role("button", name="Move up").click()
    page.get_by_label("My school").check()
    journey.check()
    page.get_by_role("button", name="Publish").click()
    journey.check()
    assert "Published" in page.get_by_role("status").inner_text()
    practice = Practice.objects.get()
    assert practice.status == "published" and practice.visibility == "school"
    assert [i.tried for i in practice.iterations.all()] == [
        "Five questions, graded",
        "Three piles and regrouping",
        "Three questions, two piles",
    ]
    assert practice.failures.count() == 2
    assert page.get_by_role("heading", name="What did not work").is_visible()


def test_a_failed_publish_keeps_everything_typed(journey, teacher, facets):
    page = journey.page
    journey.sign_in("teacher", TEST_PASSWORD)
    journey.goto("/practices/new/")
    page.get_by_label("Title").fill("Draft idea")
    page.locator("#id_iterations-0-tried").fill("First try")
    page.locator("#id_failures-0-tried").fill("It flopped")
    page.get_by_role("button", name="Publish").click()
    journey.check()
    assert "Not saved yet" in page.get_by_role("alert").inner_text()
    assert page.locator("#id_iterations-0-tried").input_value() == "First try"
    assert page.locator("#id_failures-0-tried").input_value() == "It flopped"
    page.get_by_role("button", name="Save as draft").click()
    journey.check()
    assert Practice.objects.get().status == "draft"


def test_find_and_adapt(journey, teacher, other_teacher, facets):
    original = PracticeFactory(author=teacher, title="Number talks to open class", visibility="district")
    FailureFactory(practice=original, why="hands-up only let five students talk")
    practice_refresh_derived(original)
    page = journey.page
    journey.sign_in("teacher2", TEST_PASSWORD)
    journey.goto("/practices/")
    page.get_by_role("searchbox", name="Search").fill("hands-up")
    page.get_by_role("button", name="Apply").click()
    journey.check()
    page.get_by_role("link", name="Number talks to open class").click()
    journey.check()
    page.get_by_role("link", name="Share my adaptation").click()
    journey.check()
    assert page.get_by_label("Title").input_value() == "Number talks to open class (adapted at Riverside Middle School)"
    page.get_by_label("What we changed and why").fill("Our periods are 45 minutes, so we run four problems, not eight.")
    page.get_by_role("button", name="Publish").click()
    journey.check()
    assert page.get_by_text("Adapted from").is_visible()
    assert page.get_by_role("heading", name="Adaptations across schools").is_visible()
    adaptation = Practice.objects.exclude(pk=original.pk).get()
    assert adaptation.adapted_from_id == original.pk
    assert any("adaptation" in message.body for message in mail.outbox)


def test_try_and_report_back(journey, teacher, other_teacher, facets):
    practice = PracticeFactory(author=teacher, title="Reading conferences", visibility="district")
    IterationFactory.create_batch(2, practice=practice)
    page = journey.page
    journey.sign_in("teacher2", TEST_PASSWORD)
    journey.goto(f"/practices/{practice.pk}/")
    page.get_by_role("radio", name="Trying it").check()
    page.get_by_label("Notes").fill("Starting with my second period.")
    page.get_by_role("button", name="Tell the author").click()
    journey.check()
    assert Adoption.objects.get().status == "trying"
    page.get_by_role("radio", name="Adopted").check()
    page.get_by_label("Notes").fill("Now in all my classes.")
    page.get_by_role("button", name="Report back").click()
    journey.check()
    assert Adoption.objects.get().status == "adopted"
    page.get_by_role("link", name="My practices").click()
    journey.check()
    assert page.get_by_text("Now in all my classes.").is_visible()
    assert page.get_by_text("Starting with my second period.").is_visible()
    # The author heard of each step.
    assert len(mail.outbox) == 2


def test_blank_extra_rows_never_block_publishing(journey, teacher, facets):
    """With the page's script, rows added and left empty (each numbered by the script) are skipped."""
    page = journey.page
    journey.sign_in("teacher", TEST_PASSWORD)
    journey.goto("/practices/new/")
    page.get_by_label("Title").fill("Warm-up routines")
    page.get_by_label("Summary").fill("Five minutes to settle in.")
    page.get_by_label("Intent").fill("Start every lesson calmly.")
    page.get_by_label("The practice (needed to publish)").fill("A question on the board.")
    page.locator("#id_iterations-0-tried").fill("A question on the board")
    page.get_by_role("button", name="Add another iteration").click()
    page.get_by_role("button", name="Add another iteration").click()
    page.get_by_role("button", name="Add another failure").click()
    page.get_by_role("button", name="Publish").click()
    journey.check()
    assert "Published" in page.get_by_role("status").inner_text()
    practice = Practice.objects.get()
    assert [row.tried for row in practice.iterations.all()] == ["A question on the board"]
    assert practice.failures.count() == 0


class ScriptlessJourney(Journey):
    """A journey in a browser with scripts off. axe-core cannot run there (timers are off too),
    so each page, as that browser shows it, is scanned in a second page with scripts on: the
    same markup without its scripts, at the same address, so styles load as they do."""

    def __init__(self, page, base_url: str, scanner) -> None:
        super().__init__(page, base_url)
        self.scanner = scanner

    def check(self) -> None:
        self.page.wait_for_load_state("domcontentloaded")
        markup = re.sub(r"<script\b[^>]*>.*?</script>", "", self.page.content(), flags=re.S | re.I)
        self.scanner.goto(self.base_url + "/healthz")
        self.scanner.set_content(markup)
        self.scanner.add_script_tag(path=str(AXE_SCRIPT))
        result = self.scanner.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})", WCAG_TAGS
        )
        problems = [f"{violation['id']}: {violation['help']}" for violation in result["violations"]]
        assert not problems, f"Accessibility problems on {self.page.url}:\n" + "\n".join(problems)
        self.scanned.append(self.page.url)


def test_blank_extra_rows_never_block_publishing_without_javascript(browser, live_server, teacher, facets):
    """Without the script, "Add another" posts the form back with an empty row; left empty, it is skipped.
    A row half written names itself in the summary of problems."""
    context = browser.new_context(java_script_enabled=False, locale="en-US")
    scanning = browser.new_context(bypass_csp=True, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        journey = ScriptlessJourney(page, live_server.url, scanning.new_page())
        journey.sign_in("teacher", TEST_PASSWORD)
        journey.goto("/practices/new/")
        page.get_by_label("Title").fill("Exit slips by table")
        page.get_by_label("Summary").fill("One slip per table.")
        page.get_by_label("Intent").fill("Hear from every group.")
        page.get_by_label("The practice (needed to publish)").fill("Each table writes one slip.")
        page.get_by_role("button", name="Add another iteration").click()
        journey.check()
        assert page.locator("#id_iterations-1-tried").count() == 1
        page.locator("#id_iterations-1-observed").fill("Groups wrote the same thing")
        page.get_by_role("button", name="Publish").click()
        journey.check()
        assert "Iteration 2: what we tried is missing." in page.get_by_role("alert").inner_text()
        page.locator("#id_iterations-1-observed").fill("")
        page.get_by_role("button", name="Publish").click()
        journey.check()
        assert "Published" in page.get_by_role("status").inner_text()
        assert Practice.objects.get().iterations.count() == 0
    finally:
        context.close()
        scanning.close()


def _written(author, **fields) -> Practice:
    """An entry written through the form, as people do (its words join the search's word list)."""
    client = Client()
    client.force_login(author)
    client.post("/practices/new/", practice_post(**fields))
    return Practice.objects.filter(author=author).latest("pk")


def test_find_with_a_typo_save_try_report_back_and_ask_the_author(journey, teacher, other_teacher, facets):
    _written(teacher, title="Exit tickets", summary="Three questions at the end of class.")
    page = journey.page
    journey.sign_in("teacher2", TEST_PASSWORD)
    journey.goto("/practices/")
    page.get_by_role("searchbox", name="Search").fill("exit tikets")
    page.get_by_role("button", name="Apply").click()
    journey.check()
    assert "matching “exit tickets”" in page.get_by_role("heading", name=re.compile("practice")).inner_text()
    page.get_by_role("link", name="Exit tickets").click()
    journey.check()
    page.get_by_role("link", name="Save to a collection").click()
    journey.check()
    page.get_by_label("Name of the new collection").fill("Try this spring")
    page.get_by_label("Note").fill("For my second period.")
    page.get_by_role("button", name="Save").click()
    journey.check()
    assert "Saved to “Try this spring”." in page.get_by_role("status").inner_text()
    page.get_by_role("radio", name="Trying it").check()
    page.get_by_label("Notes").fill("Starting with my second period.")
    page.get_by_role("button", name="Tell the author").click()
    journey.check()
    page.get_by_role("radio", name="Adopted").check()
    page.get_by_label("Notes").fill("Now in all my classes.")
    page.get_by_role("button", name="Report back").click()
    journey.check()
    page.get_by_role("radio", name="Stopped").check()
    page.get_by_label("Notes").fill("Too long for our 45-minute periods.")
    page.get_by_role("button", name="Report back").click()
    journey.check()
    timeline = page.get_by_role("list", name="Reports, oldest first").inner_text()
    assert timeline.index("Starting with") < timeline.index("Now in all") < timeline.index("Too long")
    page.get_by_role("link", name="Ask the author a question").click()
    journey.check()
    page.get_by_label("Your question").fill("How do you sort them so fast?")
    page.get_by_role("button", name="Send the question").click()
    journey.check()
    journey.goto("/collections/")
    page.get_by_role("link", name="Try this spring").click()
    journey.check()
    assert "For my second period." in page.locator("p.note").inner_text()
    journey.sign_out()

    journey.sign_in("teacher", TEST_PASSWORD)
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    journey.check()
    assert "4 unread." in page.get_by_role("main").inner_text()
    page.get_by_role("button", name=re.compile("asked about your practice")).click()
    journey.check()
    page.get_by_label("Your answer").fill("Three piles, sorted while they pack up.")
    page.get_by_role("button", name="Send the answer").click()
    journey.check()
    journey.sign_out()

    journey.sign_in("teacher2", TEST_PASSWORD)
    journey.goto("/notifications/")
    page.get_by_role("button", name=re.compile("answered your question")).click()
    journey.check()
    assert page.get_by_text("Three piles, sorted while they pack up.").is_visible()


PHONE = {"width": 390, "height": 844}


def test_teachers_pages_fit_a_phone(browser, live_server, teacher, other_teacher, facets):
    """At 390 px every list and page of practices, questions, collections and notifications reads
    without sideways scrolling."""
    practice = _written(
        other_teacher,
        title="Exit tickets with a rather long title about formative assessment in mathematics",
        iterations=[{"when": "September", "tried": "Five questions", "ORDER": "1"}],
    )
    own = _written(teacher, title="Reading conferences", visibility="school")
    collection = Collection.objects.create(owner=teacher, name="Spring ideas")
    CollectionItem.objects.create(collection=collection, practice=practice, note="Try with period 2.")
    Question.objects.create(practice=own, asker=other_teacher, text="How long does a conference take?")
    adoption_record(practice=practice, user=teacher, status="trying", notes="Week one.")
    notify(recipient=teacher, kind=NotificationKind.ANSWER, text="The author answered your question", url="/")
    context = browser.new_context(viewport=PHONE, bypass_csp=True, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        journey = Journey(page, live_server.url)
        journey.sign_in("teacher", TEST_PASSWORD)
        for path in [
            "/practices/",
            "/practices/?q=exit+tickets",
            "/practices/?sort=like_mine",
            "/practices/mine/",
            f"/practices/{practice.pk}/",
            f"/practices/{own.pk}/questions/",
            f"/practices/{practice.pk}/save/",
            f"/practices/{practice.pk}/follow/",
            "/collections/",
            f"/collections/{collection.pk}/",
            "/notifications/",
            "/notifications/settings/",
        ]:
            journey.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width} px wide"
    finally:
        context.close()


def test_long_unbroken_words_and_hidden_questions_still_fit_a_phone_and_read(
    browser, live_server, teacher, other_teacher, facets
):
    """What people type is not always words: a pasted link or a long word in a question, an answer,
    a collection's name or a notice must wrap at 390 px, and a hidden question must keep its contrast."""
    long = "https://example.org/?q=" + "FormativeAssessment" * 12
    own = _written(teacher, title="Reading conferences")
    question = Question.objects.create(practice=own, asker=other_teacher, text=f"Is this it: {long}?")
    question_answer(question=question, answer=f"Yes: {long}")
    Question.objects.create(
        practice=own, asker=other_teacher, text="Shown only to us", hidden_at=timezone.now(), hidden_by=teacher
    )
    collection = Collection.objects.create(owner=teacher, name=long[:120], description=long)
    CollectionItem.objects.create(collection=collection, practice=own, note=long)
    notify(recipient=teacher, kind=NotificationKind.QUESTION, text=f"A question: {long}", url=own.get_absolute_url())
    context = browser.new_context(viewport=PHONE, bypass_csp=True, locale="en-US")
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        journey = Journey(page, live_server.url)
        journey.sign_in("teacher", TEST_PASSWORD)
        for path in [
            f"/practices/{own.pk}/",
            f"/practices/{own.pk}/questions/",
            f"/collections/{collection.pk}/",
            "/collections/",
            "/notifications/",
        ]:
            journey.goto(path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path} is {width} px wide"
    finally:
        context.close()
