from django.db import migrations

SUBJECTS = [
    "English language arts", "Mathematics", "Science", "Social studies", "World languages", "Arts",
    "Physical education and health", "Computer science", "Career and technical education",
    "Special education", "English learners", "Social-emotional learning", "Whole school",
]
GRADE_BANDS = [("pre-k", "Pre-K"), ("k-2", "K–2"), ("3-5", "3–5"), ("6-8", "6–8"), ("9-12", "9–12"), ("adult", "Adults (staff learning)")]
EVIDENCE = [
    ("student-work", "Student work"),
    ("assessment-data", "Assessment data"),
    ("observation", "Classroom observation"),
    ("student-voice", "Student voice"),
    ("attendance-behaviour", "Attendance or behaviour data"),
]


def add_facets(apps, schema_editor):
    Facet = apps.get_model("practices", "Facet")
    from django.utils.text import slugify

    rows = [Facet(kind="subject", name=name, slug=slugify(name), position=i) for i, name in enumerate(SUBJECTS)]
    rows += [Facet(kind="grade_band", name=name, slug=slug, position=i) for i, (slug, name) in enumerate(GRADE_BANDS)]
    rows += [Facet(kind="evidence", name=name, slug=slug, position=i) for i, (slug, name) in enumerate(EVIDENCE)]
    Facet.objects.bulk_create(rows, ignore_conflicts=True)


def create_search_index(apps, schema_editor):
    # Full-text search on PostgreSQL: a GIN index over the same expression the
    # search query uses (practices.search.DOCUMENT_VECTOR). SQLite searches without one.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS practice_search_gin ON practices_practice "
            "USING GIN (to_tsvector('english'::regconfig, search_document))"
        )


def drop_search_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS practice_search_gin")


class Migration(migrations.Migration):
    dependencies = [("practices", "0001_initial")]

    operations = [
        migrations.RunPython(add_facets, migrations.RunPython.noop),
        migrations.RunPython(create_search_index, drop_search_index),
    ]
