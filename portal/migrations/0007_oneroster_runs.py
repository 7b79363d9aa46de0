import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0006_roster_import_kind_portal_csv'),
    ]

    operations = [
        migrations.CreateModel(
            name='OneRosterRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('file_name', models.CharField(max_length=255)),
                ('district_role', models.CharField(choices=[('teacher', 'Teacher'), ('principal', 'Principal'), ('district_leader', 'District leader'), ('district_staff', 'District staff')], max_length=20)),
                ('stored', models.CharField(help_text='Where the upload is kept until it is imported or refused.', max_length=255)),
                ('status', models.CharField(choices=[('checking', 'Checking the export'), ('previewed', 'Preview ready'), ('refused', 'Problems found'), ('importing', 'Importing'), ('imported', 'Imported'), ('failed', 'Failed')], default='checking', max_length=10)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('status_at', models.DateTimeField(default=django.utils.timezone.now, help_text='When the status was last set.')),
                ('started_at', models.DateTimeField(blank=True, help_text='When a job began the current check or import; empty while it waits.', null=True)),
                ('preview', models.JSONField(blank=True, default=dict)),
                ('fingerprint', models.CharField(blank=True, help_text='Of the preview shown, to be confirmed.', max_length=64)),
                ('outdated', models.BooleanField(default=False, help_text='The roster changed since the preview that was confirmed: this is a new one.')),
                ('problems', models.JSONField(blank=True, default=dict)),
                ('by', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('record', models.OneToOneField(blank=True, help_text='The import.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='portal.rosterimport')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['checking', 'previewed', 'refused', 'importing', 'imported', 'failed'])), name='oneroster_run_status_valid')],
            },
        ),
    ]
