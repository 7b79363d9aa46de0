"""Script-injection payloads through every text field, rendered in a real browser with
the Content-Security-Policy enforced: no dialog may fire, and our own pages raise no CSP
violation."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Dialog

from practices.models import Adoption
from practices.services import practice_refresh_derived
from showcases.models import VisitRequest
from tests.factories import TEST_PASSWORD, FailureFactory, IterationFactory, PracticeFactory, VisitSlotFactory

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOADS = [
    "<script>alert('script')</script>",
    '"><img src=x onerror=alert("img")>',
    "<svg onload=alert('svg')>",
    "[link](javascript:alert('md'))",
    "<a href=\"javascript:alert('a')\">click</a>",
    "<iframe src=\"javascript:alert('iframe')\"></iframe>",
    "<details open ontoggle=alert('details')>",
    "';alert('quote');//",
    "{{ 7|add:7 }} {% now 'Y' %}",
    "<body onload=alert('body')>",
]
MIXED = " ".join(PAYLOADS)


@pytest.fixture
def hostile_content(teacher, other_teacher, principal):
    practice = PracticeFactory(
        author=teacher,
        title=f"Title {PAYLOADS[1]}",
        summary=MIXED[:390],
        description=MIXED,
        intent=MIXED,
        context=MIXED,
        depends_on=MIXED,
        core_elements=MIXED,
        adaptable_elements=MIXED,
        impact=MIXED,
        featured_note=MIXED,
        featured_at=timezone.now(),
    )
    practice.tags.set([PAYLOADS[0][:90], PAYLOADS[2]])
    IterationFactory(practice=practice, when=PAYLOADS[1][:70], tried=MIXED, observed=MIXED, changed=MIXED)
    FailureFactory(practice=practice, tried=MIXED, what_happened=MIXED, why=MIXED, lesson=MIXED)
    Adoption.objects.create(practice=practice, user=other_teacher, school=other_teacher.school, notes=MIXED)
    practice_refresh_derived(practice)
    past = timezone.now() - timedelta(hours=3)
    slot = VisitSlotFactory(
        showcase__host=principal,
        showcase__title=f"Showcase {PAYLOADS[1]}",
        showcase__description=MIXED,
        showcase__impact=MIXED,
        showcase__evidence=MIXED,
        showcase__focus_question=PAYLOADS[1],
        location=PAYLOADS[2],
        notes=MIXED,
        starts_at=past,
        ends_at=past + timedelta(hours=2),
        debrief_notes=MIXED,
    )
    VisitRequest.objects.create(
        slot=slot, requester=other_teacher, seats=1, status="approved", message=MIXED, host_note=MIXED
    )
    return practice, slot


def _visit_all(browser, live_server, username, paths):
    context = browser.new_context()  # CSP enforced: no bypass here
    page = context.new_page()
    dialogs: list[str] = []
    violations: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda message: violations.append(message.text) if "Content Security Policy" in message.text else None,
    )
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username or e-mail").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    for path in paths:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        # A page that sent the visitor to sign in would show nothing to test.
        assert "/login/" not in page.url, f"{username} was sent to sign in from {path}"
        # Open every disclosure and hover every link, in case a handler waits for it.
        for details in page.locator("details").all():
            details.evaluate("el => el.open = true")
        page.wait_for_timeout(50)
    context.close()
    return dialogs, violations


def test_payloads_never_run_anywhere_they_are_shown(
    browser, live_server, hostile_content, teacher, principal, other_teacher
):
    practice, slot = hostile_content
    teacher_pages = [
        "/",
        "/practices/",
        f"/practices/?q={practice.title.split()[0]}",
        f"/practices/{practice.pk}/",
        f"/practices/{practice.pk}/history/",
        f"/practices/{practice.pk}/edit/",
        "/practices/mine/",
        "/showcases/",
        f"/showcases/{slot.showcase.pk}/",
    ]
    dialogs, violations = _visit_all(browser, live_server, "teacher", teacher_pages)
    assert dialogs == [], dialogs
    host_pages = [
        f"/showcases/{slot.showcase.pk}/",
        f"/showcases/sessions/{slot.pk}/debrief/",
        "/showcases/hosting/",
        "/dashboard/",
    ]
    dialogs, more = _visit_all(browser, live_server, "principal", host_pages)
    assert dialogs == [], dialogs
    dialogs, visitor = _visit_all(
        browser, live_server, "teacher2", ["/showcases/visits/", f"/showcases/sessions/{slot.pk}/debrief/"]
    )
    assert dialogs == [], dialogs
    # Anything the CSP had to block came from the payloads, never from the portal itself:
    # the same pages without hostile content raise no violation (next test).
    assert all("inline" in v or "javascript:" in v for v in violations + more + visitor)


def test_portal_pages_raise_no_csp_violation(browser, live_server, teacher, principal, leader, staff):
    PracticeFactory(author=teacher)
    for username, paths in {
        "teacher": ["/", "/practices/", "/practices/new/", "/showcases/", "/showcases/calendar/"],
        "leader": ["/dashboard/", "/surveys/"],
        "staff": ["/admin/", "/admin/portal/user/", "/admin/practices/practice/", "/roster/import/"],
    }.items():
        _dialogs, violations = _visit_all(browser, live_server, username, paths)
        assert violations == [], f"{username}: {violations}"
