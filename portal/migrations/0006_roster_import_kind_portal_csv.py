from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0005_notifications'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='rosterimport',
            name='roster_import_kind_valid',
        ),
        migrations.AlterField(
            model_name='rosterimport',
            name='kind',
            field=models.CharField(choices=[('oneroster_bulk', 'OneRoster, full export'), ('oneroster_delta', 'OneRoster, changes only'), ('portal_csv', 'Portal CSV (schools + people)')], max_length=20),
        ),
        migrations.AddConstraint(
            model_name='rosterimport',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['oneroster_bulk', 'oneroster_delta', 'portal_csv'])), name='roster_import_kind_valid'),
        ),
    ]
