import io
import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tests.factories import FailureFactory, PracticeFactory, ShowcaseFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_export_content_keeps_anonymous_authors_anonymous(tmp_path, teacher, other_teacher):
    open_practice = PracticeFactory(author=teacher, title="Signed entry")
    hidden = PracticeFactory(author=other_teacher, title="Anonymous entry", anonymous=True)
    FailureFactory(practice=hidden, why="Nobody had time")
    out = tmp_path / "content.json"
    call_command("export_content", str(out))
    data = json.loads(out.read_text())
    practices = {p["title"]: p for p in data["practices"]}
    assert practices["Signed entry"]["author"] == teacher.username
    assert practices["Anonymous entry"]["author"] is None
    assert practices["Anonymous entry"]["failures"][0]["why"] == "Nobody had time"
    text = out.read_text()
    assert other_teacher.username not in text and other_teacher.email not in text
    assert "password" not in text
    assert {s["slug"] for s in data["schools"]} >= {teacher.school.slug}
    assert open_practice.pk in {p["id"] for p in data["practices"]}


def _export(tmp_path, *args: str) -> dict:
    out = tmp_path / "content.json"
    call_command("export_content", str(out), *args, stdout=io.StringIO())
    return json.loads(out.read_text())


@pytest.fixture
def mixed_content(teacher, other_teacher, principal):
    """A district entry, a Maple Grove-only entry, a draft, an anonymous entry adapted
    from the Maple Grove-only one, a published and a draft showcase."""
    kept = PracticeFactory(author=teacher, title="Maple only", visibility="school")
    PracticeFactory(author=teacher, title="Maple draft", status="draft", published_at=None)
    PracticeFactory(author=teacher, title="For everyone")
    PracticeFactory(
        author=principal,
        title="Anonymous adaptation",
        anonymous=True,
        adapted_from=kept,
        lineage_root=kept,
        visibility="district",
    )
    ShowcaseFactory(host=principal, title="Open doors", status="published")
    ShowcaseFactory(host=principal, title="Draft visit", status="draft")


def test_export_holds_only_what_the_whole_district_office_may_open(tmp_path, mixed_content, principal):
    data = _export(tmp_path)
    practices = {p["title"]: p for p in data["practices"]}
    assert set(practices) == {"For everyone", "Anonymous adaptation"}
    # The original is kept in its school: the export does not point at it.
    assert practices["Anonymous adaptation"]["adapted_from"] is None
    assert practices["Anonymous adaptation"]["author"] is None
    assert [s["title"] for s in data["showcases"]] == ["Open doors"]
    text = json.dumps(data)
    assert "Maple only" not in text and "Maple draft" not in text and principal.username not in text


def test_export_for_a_reader_holds_what_they_may_open_named_as_they_may_see_it(
    tmp_path, mixed_content, teacher, other_teacher, principal, staff
):
    mine = {p["title"]: p for p in _export(tmp_path, "--reader", teacher.username)["practices"]}
    assert set(mine) == {"Maple only", "Maple draft", "For everyone", "Anonymous adaptation"}
    assert mine["Anonymous adaptation"]["author"] is None
    assert mine["Anonymous adaptation"]["adapted_from"] == mine["Maple only"]["id"]
    theirs = {p["title"] for p in _export(tmp_path, "--reader", other_teacher.username)["practices"]}
    assert theirs == {"For everyone", "Anonymous adaptation"}
    by_author = {p["title"]: p for p in _export(tmp_path, "--reader", principal.username)["practices"]}
    assert by_author["Anonymous adaptation"]["author"] == principal.username
    everything = {p["title"]: p for p in _export(tmp_path, "--reader", staff.username)["practices"]}
    assert everything["Anonymous adaptation"]["author"] == principal.username
    assert {s["title"] for s in _export(tmp_path, "--reader", principal.username)["showcases"]} == {
        "Open doors",
        "Draft visit",
    }


def test_export_for_an_unknown_reader_is_refused(tmp_path, db):
    with pytest.raises(CommandError, match="nobody"):
        _export(tmp_path, "--reader", "nobody")


@pytest.mark.django_db(transaction=True)
def test_backup_and_restore_round_trip(teacher):
    """pg_dump the test database, pg_restore it into a new one, and find the same rows."""
    if connection.vendor != "postgresql":
        pytest.skip("backups are PostgreSQL dumps")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    PracticeFactory(author=teacher, title="Worth keeping")
    settings = connection.settings_dict
    base = f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
    source = f"{base}/{settings['NAME']}"
    target_name = f"restore_{uuid.uuid4().hex[:8]}"
    dump = ROOT / f".restore-test-{target_name}.dump"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{target_name}"')
    try:
        subprocess.run([str(ROOT / "scripts/backup.sh"), source, str(dump)], check=True, capture_output=True)
        subprocess.run(
            [str(ROOT / "scripts/restore.sh"), str(dump), f"{base}/{target_name}"], check=True, capture_output=True
        )
        titles = subprocess.run(
            ["psql", f"{base}/{target_name}", "-tAc", "SELECT title FROM practices_practice"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split("\n")
        assert "Worth keeping" in titles
    finally:
        dump.unlink(missing_ok=True)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target_name}"')
