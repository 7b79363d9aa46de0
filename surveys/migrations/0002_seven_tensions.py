from django.db import migrations

TENSIONS = [
    (1, "How do we decide what the district should hold tight vs. loose?", "Centralized implementation", "Decentralized implementation"),
    (2, "How fast should we move from pilot to scale?", "“Fast and furious”", "“Slow and steady”"),
    (3, "Where do we pilot and how do we allocate resources?", "Prioritize need", "Prioritize readiness"),
    (4, "How should we develop our talent and resource pipeline?", "Build internally", "Buy externally"),
    (5, "How flexible should our strategy be over time?", "Fixed strategy", "Adapt with experience"),
    (6, "Comprehensive model or modular tools?", "“Prix fixe”", "“A-la-carte”"),
    (7, "What should we catalogue and share?", "Share best practices", "Share process and failures"),
]


def add_tensions(apps, schema_editor):
    Tension = apps.get_model("surveys", "Tension")
    for number, title, left, right in TENSIONS:
        Tension.objects.update_or_create(number=number, defaults={"title": title, "left_label": left, "right_label": right})


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial")]

    operations = [migrations.RunPython(add_tensions, migrations.RunPython.noop)]
