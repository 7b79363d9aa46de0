"""Summaries the district dashboard reads instead of counting every practice.

Each row holds what one school published on one day (PracticeDay) or in one month
(PracticeMonth), days and months in the portal's time zone (settings.TIME_ZONE). They are
kept by `insights.summaries`: recounted for the days a change touches, and rebuilt whole
by `manage.py rebuild_summaries` (every night, and whenever they are missing). Only rows
with something published are kept.
"""

from django.db import models


class PracticeCounts(models.Model):
    """Published practices, with how many document a failure and how many show evolution
    (two or more iterations), as the dashboard counts them."""

    school = models.ForeignKey("portal.School", on_delete=models.CASCADE, related_name="+")
    published = models.PositiveIntegerField(default=0)
    with_failures = models.PositiveIntegerField(default=0)
    with_evolution = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class PracticeDay(PracticeCounts):
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "day"], name="practice_day_unique")]
        indexes = [models.Index(fields=["day"], name="practice_day_day_idx")]

    def __str__(self) -> str:
        return f"{self.school_id} {self.day}: {self.published}"


class PracticeMonth(PracticeCounts):
    month = models.DateField(help_text="The first day of the month.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "month"], name="practice_month_unique")]
        indexes = [models.Index(fields=["month"], name="practice_month_month_idx")]

    def __str__(self) -> str:
        return f"{self.school_id} {self.month:%Y-%m}: {self.published}"
