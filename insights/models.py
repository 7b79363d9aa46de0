"""Summaries the district dashboard reads instead of counting every practice, adoption and visit.

Each row holds what one school published on one day (PracticeDay), in one month
(PracticeMonth) or in all (PracticeTotal), what the district published on one day or in one
month (DistrictDay, DistrictMonth), or what went from one school to another on one day (FlowDay), days and
months in the portal's time zone (settings.TIME_ZONE). They are kept by
`insights.summaries`: recounted for the days a change touches, and rebuilt whole by
`manage.py rebuild_summaries` (every night, and whenever they are missing). Only rows with
something counted are kept.
"""

from django.db import models


class DistrictCounts(models.Model):
    """Published practices, with how many document a failure and how many show evolution
    (two or more iterations), as the dashboard counts them: of the whole district."""

    published = models.PositiveIntegerField(default=0)
    with_failures = models.PositiveIntegerField(default=0)
    with_evolution = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class PracticeCounts(DistrictCounts):
    """DistrictCounts of one school."""

    school = models.ForeignKey("portal.School", on_delete=models.CASCADE, related_name="+")

    class Meta:
        abstract = True


# What a practice summary's index by date holds besides the date (PostgreSQL reads a row's
# counts from the index alone; other databases index the date only).
PRACTICE_COUNTS_HELD = ["school", "published", "with_failures", "with_evolution"]


class PracticeDay(PracticeCounts):
    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "day"], name="practice_day_unique")]
        # Holding the counts, so the dashboard's days of every school are read from the index alone.
        indexes = [models.Index(fields=["day"], include=PRACTICE_COUNTS_HELD, name="practice_day_day_idx")]

    def __str__(self) -> str:
        return f"{self.school_id} {self.day}: {self.published}"


class PracticeMonth(PracticeCounts):
    month = models.DateField(help_text="The first day of the month.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school", "month"], name="practice_month_unique")]
        # Holding the counts, as the days' index does.
        indexes = [models.Index(fields=["month"], include=PRACTICE_COUNTS_HELD, name="practice_month_month_idx")]

    def __str__(self) -> str:
        return f"{self.school_id} {self.month:%Y-%m}: {self.published}"


class PracticeTotal(PracticeCounts):
    """What a school published in all: its months summed."""

    class Meta:
        constraints = [models.UniqueConstraint(fields=["school"], name="practice_total_unique")]

    def __str__(self) -> str:
        return f"{self.school_id}: {self.published}"


class DistrictDay(DistrictCounts):
    """What the district published on one day: its schools' days summed."""

    day = models.DateField(unique=True)

    def __str__(self) -> str:
        return f"{self.day}: {self.published}"


class DistrictMonth(DistrictCounts):
    """What the district published in one month: its schools' months summed."""

    month = models.DateField(unique=True, help_text="The first day of the month.")

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.published}"


class FlowKind(models.TextChoices):
    """What goes from one school to another: a practice adopted or adapted, a showcase visited
    (from the host to the visitors' school); and a school's sessions hosted (no other school)."""

    ADOPTION = "adoption"
    ADAPTATION = "adaptation"
    VISIT = "visit"
    HOSTED = "hosted"


class FlowCounts(models.Model):
    """What went from `source` to `target` (sessions hosted: at `source`, no target), as the
    dashboard counts it: rows, seats, sessions checked in and seats attended."""

    kind = models.CharField(max_length=10, choices=FlowKind.choices)
    source = models.ForeignKey("portal.School", on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey("portal.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    count = models.PositiveIntegerField(default=0)
    seats = models.PositiveIntegerField(default=0)
    checked_in = models.PositiveIntegerField(default=0)
    attended = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True


class FlowDay(FlowCounts):
    """What went from `source` to `target` on one day, as the dashboard counts it: adoptions of
    `source`'s practices by `target` (on the day adopted), adaptations (on the day published),
    visits to `source`'s showcases from `target` (on the day of the session, with the seats);
    and the sessions `source` hosted (no target; seats approved where nobody checked visitors
    in, and the sessions checked in with their seats attended). Kept by insights.summaries for
    every day, sessions to come included: the dashboard counts a session once it has started."""

    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "day", "source", "target"], name="flow_day_unique"),
            models.UniqueConstraint(
                fields=["kind", "day", "source"], condition=models.Q(target__isnull=True), name="flow_day_hosted_unique"
            ),
            models.CheckConstraint(condition=models.Q(kind__in=FlowKind.values), name="flow_day_kind_valid"),
            models.CheckConstraint(
                condition=models.Q(kind=FlowKind.HOSTED, target__isnull=True)
                | (
                    ~models.Q(kind=FlowKind.HOSTED)
                    & models.Q(target__isnull=False)
                    & ~models.Q(target=models.F("source"))
                ),
                name="flow_day_between_schools",
            ),
        ]
        indexes = [
            models.Index(fields=["day"], name="flow_day_day_idx"),
            models.Index(fields=["kind", "source", "target"], name="flow_day_pair_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}→{self.target_id} {self.day}: {self.count}"


class FlowTotal(FlowCounts):
    """What went from `source` to `target` in all, FlowDay's rows summed per pair: every day of
    adoptions and adaptations, and the days of visits and sessions hosted before
    `FlowMark.through` (the days since are read from FlowDay). The district's dashboard reads
    its busiest flows from here, without grouping every day of every pair."""

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "source", "target"], name="flow_total_unique"),
            models.UniqueConstraint(
                fields=["kind", "source"], condition=models.Q(target__isnull=True), name="flow_total_hosted_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "-count"], name="flow_total_busiest_idx"),
            models.Index(fields=["kind", "target"], name="flow_total_target_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source_id}→{self.target_id}: {self.count}"


class FlowSchoolTotal(models.Model):
    """FlowTotal summed per school and kind: the pairs it is the source of and their counts, and
    the count of the flows into it."""

    kind = models.CharField(max_length=10, choices=FlowKind.choices)
    school = models.ForeignKey("portal.School", on_delete=models.CASCADE, related_name="+")
    pairs_out = models.PositiveIntegerField(default=0)
    count_out = models.PositiveIntegerField(default=0)
    seats_out = models.PositiveIntegerField(default=0)
    checked_in_out = models.PositiveIntegerField(default=0)
    attended_out = models.PositiveIntegerField(default=0)
    count_in = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "school"], name="flow_school_total_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.school_id}: {self.count_out} out, {self.count_in} in"


class FlowMark(models.Model):
    """The one row that says up to which day (not included) FlowTotal holds visits and sessions
    hosted."""

    through = models.DateField()

    def __str__(self) -> str:
        return f"flows summed through {self.through}"
