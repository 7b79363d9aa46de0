import json
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import FailureFactory, PracticeFactory

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
