from django.db import migrations


def forwards(apps, schema_editor):
    # PostgreSQL keeps the document's tsvector in a stored generated column with a GIN
    # index, so ranking reads it instead of parsing every matching document again.
    # The column is PostgreSQL's own: Django never writes it (practices.search reads it).
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS practice_search_gin")
    schema_editor.execute(
        "ALTER TABLE practices_practice ADD COLUMN IF NOT EXISTS search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('english'::regconfig, search_document)) STORED"
    )
    schema_editor.execute("CREATE INDEX IF NOT EXISTS practice_search_vector_gin ON practices_practice USING GIN (search_vector)")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS practice_search_vector_gin")
    schema_editor.execute("ALTER TABLE practices_practice DROP COLUMN IF EXISTS search_vector")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS practice_search_gin ON practices_practice "
        "USING GIN (to_tsvector('english'::regconfig, search_document))"
    )


class Migration(migrations.Migration):
    dependencies = [("practices", "0003_stored_counts")]

    operations = [migrations.RunPython(forwards, backwards)]
