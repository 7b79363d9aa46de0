from __future__ import annotations

import uuid
from collections.abc import Iterable
from pathlib import PurePath
from typing import Any, cast

import reversion
from django.conf import settings
from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone
from taggit.managers import TaggableManager

from portal.models import Role, User

SEARCH_DOCUMENT_MAX_CHARS = 100_000
TAG_NAMES_MAX_LENGTH = 500
# The tags' lookup, for prefetch_related. taggit ships no type information, so the type
# checker cannot see that its manager is a relation and refuses the literal "tags".
TAGS: str = "tags"


class FacetKind(models.TextChoices):
    SUBJECT = "subject", "Subject"
    GRADE_BAND = "grade_band", "Grade band"
    EVIDENCE = "evidence", "Kind of evidence"


class Facet(models.Model):
    """A fixed vocabulary term a practice is filed under: subject, grade band or kind of evidence.

    One table for the three, so a page loads all of a practice's terms in one query.
    """

    kind = models.CharField(max_length=12, choices=FacetKind.choices)
    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["kind", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "slug"], name="facet_slug_unique_per_kind"),
            models.CheckConstraint(condition=models.Q(kind__in=FacetKind.values), name="facet_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    ARCHIVED = "archived", "Archived"


class Visibility(models.TextChoices):
    SCHOOL = "school", "My school"
    DISTRICT = "district", "The whole district"


# Who writes practices (and so may adapt one): people of a school. The district office has no
# school to write for.
PRACTICE_AUTHOR_ROLES = frozenset({Role.TEACHER, Role.PRINCIPAL})
# Who features a practice as a Model of Excellence.
FEATURING_ROLES = frozenset({Role.DISTRICT_LEADER, Role.DISTRICT_STAFF})


def can_write_practices(user: User) -> bool:
    """Whether `user` may write practices of their own."""
    return user.school_id is not None and user.role in PRACTICE_AUTHOR_ROLES


def tag_names_text(names: Iterable[str]) -> str:
    """The tags as kept beside the entry, for its history and its search document."""
    return ", ".join(sorted(names))


def count_per_practice(model: type[models.Model]) -> Coalesce:
    """The number of `model` rows of the outer query's practice, as a subquery."""
    rows = (
        model._default_manager.filter(practice=OuterRef("pk"))
        .order_by()
        .values("practice")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=models.IntegerField()), 0)


def _shared_with(school_id: int | None) -> Q:
    """Published or archived entries shared with the whole district or with `school_id`."""
    audience = Q(visibility=Visibility.DISTRICT)
    if school_id is not None:
        audience |= Q(visibility=Visibility.SCHOOL, school_id=school_id)
    return Q(status__in=[Status.PUBLISHED, Status.ARCHIVED]) & audience


class PracticeQuerySet(models.QuerySet["Practice"]):
    def open_to_reports_by(self, user: User) -> PracticeQuerySet:
        """`user`'s own entries a report of theirs may be added to: not archived, and not
        anonymous (the report shows with their name on the original's page, so the same words
        on an anonymous entry would tell who wrote it)."""
        return self.filter(author=user, anonymous=False).exclude(status=Status.ARCHIVED)

    def visible_to(self, user: User) -> PracticeQuerySet:
        """The one access rule for practices.

        District staff see everything (they moderate). Everyone else sees their own
        entries in any state, and published or archived entries shared with the whole
        district or with their own school.
        """
        if not user.is_authenticated or not user.is_active:
            return self.none()
        if user.is_district_staff:
            return self.all()
        return self.filter(_shared_with(user.school_id) | Q(author=user))

    def visible_to_all_at(self, school_id: int | None) -> PracticeQuerySet:
        """What every reader whose school is `school_id` may open, whoever they are (None:
        every reader in the district, the district office included).

        The shared part of `visible_to` without anyone's own entries, for what many readers
        share: a dashboard's kept figures, tag suggestions, the content export.
        """
        return self.filter(_shared_with(school_id))

    def published(self) -> PracticeQuerySet:
        # Every published practice has a date (a constraint says so); saying it here lets a
        # walk down the published_at index skip the drafts, whose date is empty.
        return self.filter(status=Status.PUBLISHED, published_at__isnull=False)

    def with_counts(self, reader: User) -> PracticeQuerySet:
        """Adoption and adaptation counts as subqueries, so they neither multiply rows nor each other.
        Only adaptations `reader` may open are counted. (Iteration and failure counts are
        stored on the practice.)"""

        adaptations = (
            Practice.objects.visible_to(reader)
            .filter(adapted_from=OuterRef("pk"), status=Status.PUBLISHED)
            .order_by()
            .values("adapted_from")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(
            adoption_count=count_per_practice(Adoption),
            adaptation_count=Coalesce(Subquery(adaptations, output_field=models.IntegerField()), 0),
        )


class Practice(models.Model):
    # The fields people write, in form order: edited together, searched together, exported together.
    TEXT_FIELDS = (
        "title",
        "summary",
        "description",
        "intent",
        "context",
        "depends_on",
        "core_elements",
        "adaptable_elements",
        "impact",
        "adaptation_changes",
    )

    title = models.CharField(max_length=200)
    summary = models.CharField(max_length=400, blank=True, help_text="One or two sentences a colleague reads first.")
    description = models.TextField(
        "the practice", blank=True, help_text="How it works, step by step, as you would explain it to a colleague."
    )
    intent = models.TextField(
        blank=True, help_text="The problem it addresses, the outcome you intended, and for which students."
    )
    context = models.TextField(
        "setting",
        blank=True,
        help_text="Where it grew: class size, schedule, technology, student population.",
    )
    depends_on = models.TextField(
        "what it depends on", blank=True, help_text="Conditions, people or resources it needs to work."
    )
    core_elements = models.TextField(
        "core: what must stay", blank=True, help_text="The parts that must stay for it to work."
    )
    adaptable_elements = models.TextField(
        "adaptable: what others may change",
        blank=True,
        help_text="The parts a colleague can change to fit their context.",
    )
    impact = models.TextField(
        "impact on student learning", blank=True, help_text="What changed for students, and the evidence you have."
    )
    facets = models.ManyToManyField(Facet, blank=True, related_name="practices")
    school = models.ForeignKey("portal.School", on_delete=models.PROTECT, related_name="practices")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="practices")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    visibility = models.CharField("audience", max_length=10, choices=Visibility.choices, default=Visibility.SCHOOL)
    anonymous = models.BooleanField(
        "post anonymously",
        default=False,
        help_text="Your name is hidden from everyone except district staff. Your school is still shown.",
    )
    adapted_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="adaptations"
    )
    lineage_root = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    adaptation_changes = models.TextField(
        "what we changed and why",
        blank=True,
        help_text="For an adaptation: what you changed from the original, and why.",
    )
    tags = TaggableManager(blank=True, help_text="Comma-separated, e.g. “formative assessment, reading”.")
    # The tags as text, so versions in the history keep them and a restore brings them back.
    tag_names = models.CharField(max_length=TAG_NAMES_MAX_LENGTH, blank=True, editable=False)
    featured_at = models.DateTimeField(null=True, blank=True, editable=False)
    featured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    featured_note = models.TextField(blank=True)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    archived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )
    archived_reason = models.TextField(blank=True)
    published_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Every searchable word of the entry, its iterations and failures, rebuilt on save.
    # Never the author's name: anonymous entries must not be found by it.
    search_document = models.TextField(blank=True, editable=False)
    # Kept by practices.services on every save, so lists and dashboards need no subquery.
    iteration_count = models.PositiveIntegerField(default=0, editable=False)
    failure_count = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = PracticeQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=Status.values), name="practice_status_valid"),
            models.CheckConstraint(condition=Q(visibility__in=Visibility.values), name="practice_visibility_valid"),
            models.CheckConstraint(condition=~Q(adapted_from=models.F("id")), name="practice_not_adapted_from_itself"),
            # A published entry has a publication date, so lists ordered by it can skip the
            # undated ones (drafts, and drafts archived before publishing) in the index.
            models.CheckConstraint(
                condition=~Q(status=Status.PUBLISHED) | Q(published_at__isnull=False),
                name="practice_published_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "visibility", "school"], name="practice_access_idx"),
            models.Index(fields=["-published_at"], name="practice_published_idx"),
            models.Index(fields=["lineage_root"], name="practice_lineage_idx"),
            models.Index(fields=["-featured_at"], name="practice_featured_idx", condition=Q(featured_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("practices:detail", args=[self.pk])

    @property
    def is_featured(self) -> bool:
        return self.featured_at is not None

    @property
    def is_draft(self) -> bool:
        return self.status == Status.DRAFT

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED

    @property
    def is_archived(self) -> bool:
        return self.status == Status.ARCHIVED

    @property
    def is_school_only(self) -> bool:
        return self.visibility == Visibility.SCHOOL

    # Who may do what to an entry they can see (PracticeQuerySet.visible_to says who sees it).

    def can_edit(self, user: User) -> bool:
        return user.is_authenticated and self.author_id == user.pk and user.is_active

    def can_restore(self, user: User) -> bool:
        """The author brings back an earlier version, unless the entry is archived."""
        return self.can_edit(user) and not self.is_archived

    def can_moderate(self, user: User) -> bool:
        """The school's principal and district staff may archive with a reason."""
        return user.is_district_staff or (user.is_principal and user.school_id == self.school_id)

    def can_archive(self, user: User) -> bool:
        """Its author or a moderator archives an entry; archiving it again would let its
        author take over a moderator's archive and undo it."""
        return not self.is_archived and (self.can_edit(user) or self.can_moderate(user))

    def can_unarchive(self, user: User) -> bool:
        if not self.is_archived:
            return False
        if self.archived_by_id == self.author_id:
            return self.can_edit(user) or self.can_moderate(user)
        return self.can_moderate(user)

    def can_feature(self, user: User) -> bool:
        """District leaders and staff feature a published entry, and stop featuring it."""
        return self.is_published and user.role in FEATURING_ROLES

    def can_adopt(self, user: User) -> bool:
        """Anyone but its author reports trying a published entry."""
        return self.is_published and self.author_id != user.pk

    def adaptations_by(self, user: User) -> PracticeQuerySet:
        """`user`'s own adaptations of this entry their reports may go to."""
        return Practice.objects.filter(adapted_from=self).open_to_reports_by(user)

    def can_ask(self, user: User) -> bool:
        """Anyone who reads a published entry, but its author, asks its author a question."""
        return self.is_published and user.is_active and self.author_id != user.pk

    def can_hide_questions(self, user: User) -> bool:
        """Its author and district staff hide a question about it, and show it again."""
        return user.is_active and (self.author_id == user.pk or user.is_district_staff)

    def can_adapt(self, user: User) -> bool:
        """Anyone who writes practices shares their adaptation of someone else's published entry."""
        return self.is_published and self.author_id != user.pk and can_write_practices(user)

    def facets_of(self, kind: str) -> list[Facet]:
        return [facet for facet in self.facets.all() if facet.kind == kind]

    @property
    def subjects(self) -> list[Facet]:
        return self.facets_of(FacetKind.SUBJECT)

    @property
    def grade_bands(self) -> list[Facet]:
        return self.facets_of(FacetKind.GRADE_BAND)

    @property
    def evidence_kinds(self) -> list[Facet]:
        return self.facets_of(FacetKind.EVIDENCE)

    def refresh_counts(self) -> None:
        self.iteration_count = self.iterations.count()
        self.failure_count = self.failures.count()

    def build_search_document(
        self,
        *,
        facets: Iterable[Facet] | None = None,
        iterations: Iterable[Iteration] | None = None,
        failures: Iterable[Failure] | None = None,
    ) -> str:
        """The one builder of `search_document`: every word people wrote in the entry, its
        tags (`tag_names`), terms, iterations and failures; never the author's name.

        A saved entry reads its own rows; a bulk insert passes the unsaved rows it is about
        to insert with the entry, so both build the same document.
        """
        facets = self.facets.all() if facets is None else facets
        iterations = self.iterations.all() if iterations is None else iterations
        failures = self.failures.all() if failures is None else failures
        parts = [
            *(getattr(self, name) for name in self.TEXT_FIELDS),
            self.tag_names,
            " ".join(facet.name for facet in sorted(facets, key=lambda f: (f.kind, f.position, f.name))),
        ]
        for iteration in sorted(iterations, key=lambda row: row.position):
            parts += [iteration.when, iteration.tried, iteration.observed, iteration.changed]
        for failure in sorted(failures, key=lambda row: row.position):
            parts += [failure.tried, failure.what_happened, failure.why, failure.lesson]
        # PostgreSQL refuses a tsvector over 1 MB (an error on save); this many characters
        # stay well under it whatever the words, and are far more than any entry needs.
        return "\n".join(part for part in parts if part)[:SEARCH_DOCUMENT_MAX_CHARS]


class Iteration(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="iterations")
    position = models.PositiveSmallIntegerField(default=0)
    when = models.CharField(max_length=80, blank=True, help_text="e.g. “Fall 2025” or “Week 3”.")
    tried = models.TextField("what we tried")
    observed = models.TextField("what we observed", blank=True, help_text="What happened, with the evidence you saw.")
    changed = models.TextField("what we changed next, and why", blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.when or 'Iteration'}: {self.tried[:60]}"


class Failure(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="failures")
    position = models.PositiveSmallIntegerField(default=0)
    tried = models.TextField("what we tried")
    what_happened = models.TextField("what happened", blank=True)
    why = models.TextField("why we think it did not work", blank=True)
    lesson = models.TextField("what we learned, and would tell others", blank=True)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.tried[:80]


class AdoptionStatus(models.TextChoices):
    TRYING = "trying", "Trying it"
    ADOPTED = "adopted", "Adopted"
    STOPPED = "stopped", "Stopped"


class AdoptionQuerySet(models.QuerySet["Adoption"]):
    def with_timelines(self) -> list[Adoption]:
        """The adoptions, each with its `timeline` of reports (oldest first), in one query: a row
        per report, joined to its adoption, person and school, then grouped here."""
        rows = self.select_related("user", "school").annotate(
            report_id=F("reports__id"),
            report_status=F("reports__status"),
            report_notes=F("reports__notes"),
            report_at=F("reports__created_at"),
            report_failure=F("reports__failure_id"),
        )
        ordering: list[str] = [str(key) for key in self.query.order_by] or ["-updated_at"]
        ordering += ["pk", "reports__created_at", "reports__id"]
        adoptions: dict[int, Adoption] = {}
        for row in rows.order_by(*ordering):
            adoption = adoptions.setdefault(row.pk, row)
            if not hasattr(adoption, "timeline"):
                adoption.timeline = []
            # The report's columns, annotated on the row (the stubs cannot know their names).
            report = cast(Any, row)
            if report.report_id is not None:
                adoption.timeline.append(
                    AdoptionReport(
                        pk=report.report_id,
                        adoption=adoption,
                        status=report.report_status,
                        notes=report.report_notes,
                        created_at=report.report_at,
                        failure_id=report.report_failure,
                    )
                )
        for adoption in adoptions.values():
            if not adoption.timeline:
                # Recorded without a report (imported, or from before reports were kept): its
                # latest step stands for the timeline.
                adoption.timeline = [
                    AdoptionReport(
                        adoption=adoption, status=adoption.status, notes=adoption.notes, created_at=adoption.updated_at
                    )
                ]
        return list(adoptions.values())


class Adoption(models.Model):
    # Filled by AdoptionQuerySet.with_timelines: every report, oldest first.
    timeline: list[AdoptionReport]

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="adoptions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="adoptions")
    school = models.ForeignKey(
        "portal.School", on_delete=models.PROTECT, null=True, blank=True, related_name="adoptions"
    )
    status = models.CharField(max_length=10, choices=AdoptionStatus.choices, default=AdoptionStatus.TRYING)
    notes = models.TextField(
        blank=True, help_text="How it is going: what you kept, what you changed, what you noticed."
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AdoptionQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["practice", "user"], name="adoption_one_per_person"),
            models.CheckConstraint(condition=Q(status__in=AdoptionStatus.values), name="adoption_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.practice} ({self.get_status_display()})"

    @property
    def is_stopped(self) -> bool:
        return self.status == AdoptionStatus.STOPPED


class AdoptionReport(models.Model):
    """One step of someone's story with a practice they tried (trying, adopted, stopped), kept
    as they reported it: a later report adds to the timeline, never overwrites it."""

    adoption = models.ForeignKey(Adoption, on_delete=models.CASCADE, related_name="reports")
    status = models.CharField(max_length=10, choices=AdoptionStatus.choices)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # The "what did not work" entry a report of stopping became, on the reporter's adaptation.
    failure = models.OneToOneField(
        "Failure", on_delete=models.SET_NULL, null=True, blank=True, related_name="from_report", editable=False
    )

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["adoption", "created_at"], name="adoption_report_timeline_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=AdoptionStatus.values), name="adoption_report_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()} on {self.created_at:%Y-%m-%d}"

    @property
    def is_stopped(self) -> bool:
        return self.status == AdoptionStatus.STOPPED

    def can_become_failure(self, user: User) -> bool:
        """The reporter turns their report of stopping into a "what did not work" entry, once."""
        return self.is_stopped and self.pk is not None and self.failure_id is None and self.adoption.user_id == user.pk


class QuestionQuerySet(models.QuerySet["Question"]):
    def visible_to(self, user: User) -> QuestionQuerySet:
        """The one access rule for questions: those on entries the reader may see; a hidden one
        only for its asker, the entry's author and district staff (who moderate)."""
        on_seen_entries = self.filter(practice__in=Practice.objects.visible_to(user))
        if user.is_district_staff:
            return on_seen_entries
        return on_seen_entries.filter(Q(hidden_at__isnull=True) | Q(asker=user) | Q(practice__author=user))

    def answered(self) -> QuestionQuerySet:
        return self.filter(answered_at__isnull=False)


class Question(models.Model):
    """A question to an entry's author. The portal relays it: the author of an anonymous entry
    answers as "the author", and nobody learns their name or address from it."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="questions")
    asker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="questions_asked")
    text = models.TextField("your question")
    asked_at = models.DateTimeField(default=timezone.now, editable=False)
    answer = models.TextField(blank=True)
    answered_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden_at = models.DateTimeField(null=True, blank=True, editable=False)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    objects = QuestionQuerySet.as_manager()

    class Meta:
        ordering = ["asked_at", "pk"]
        indexes = [models.Index(fields=["practice", "asked_at"], name="question_practice_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(answer="", answered_at__isnull=True) | (~Q(answer="") & Q(answered_at__isnull=False)),
                name="question_answer_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]

    def get_absolute_url(self) -> str:
        return f"{reverse('practices:questions', args=[self.practice_id])}#question-{self.pk}"

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    def can_answer(self, user: User) -> bool:
        """The entry's author answers (and may improve their answer)."""
        return self.practice.can_edit(user)

    def can_hide(self, user: User) -> bool:
        return self.practice.can_hide_questions(user)


class CollectionSharing(models.TextChoices):
    PRIVATE = "private", "Only me"
    SCHOOL = "school", "Everyone at my school"
    TEAM = "team", "A team I name (a PLC, a department)"


class CollectionQuerySet(models.QuerySet["Collection"]):
    def visible_to(self, user: User) -> CollectionQuerySet:
        """The one access rule for collections: your own, those shared with your school, and
        those whose team you are in. (What each holds is shown only as far as you may see it.)"""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        member = Collection.members.through._default_manager.filter(collection_id=OuterRef("pk"), user_id=user.pk)
        shared = Q(owner=user) | (Q(sharing=CollectionSharing.TEAM) & Q(Exists(member)))
        if user.school_id is not None:
            shared |= Q(sharing=CollectionSharing.SCHOOL, school_id=user.school_id)
        return self.filter(shared)

    def open_to_additions_by(self, user: User) -> CollectionQuerySet:
        """Collections `user` may add practices to: their own, and their teams'."""
        member = Collection.members.through._default_manager.filter(collection_id=OuterRef("pk"), user_id=user.pk)
        return self.filter(Q(owner=user) | (Q(sharing=CollectionSharing.TEAM) & Q(Exists(member))))

    def with_item_counts(self, reader: User) -> CollectionQuerySet:
        """How many of its practices `reader` may open, as `item_count`."""
        items = (
            CollectionItem.objects.filter(collection=OuterRef("pk"), practice__in=Practice.objects.visible_to(reader))
            .order_by()
            .values("collection")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return self.annotate(item_count=Coalesce(Subquery(items, output_field=models.IntegerField()), 0))


class Collection(models.Model):
    """Practices saved together, each with a note: private, or shared with the owner's school or
    a team they name. Its own page shows each reader only the practices they may open."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=120)
    description = models.TextField("what it is for", blank=True)
    sharing = models.CharField(
        "who can see it", max_length=10, choices=CollectionSharing.choices, default=CollectionSharing.PRIVATE
    )
    # The owner's school when shared with a school (kept if the owner moves, so nobody new sees it).
    school = models.ForeignKey(
        "portal.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+", editable=False
    )
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="team_collections")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = CollectionQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(sharing__in=CollectionSharing.values), name="collection_sharing_valid"),
            models.CheckConstraint(
                condition=~Q(sharing=CollectionSharing.SCHOOL) | Q(school__isnull=False),
                name="collection_school_sharing_has_school",
            ),
            models.UniqueConstraint("owner", Lower("name"), name="collection_name_unique_per_owner"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("collections:detail", args=[self.pk])

    @property
    def is_private(self) -> bool:
        return self.sharing == CollectionSharing.PRIVATE

    @property
    def is_team(self) -> bool:
        return self.sharing == CollectionSharing.TEAM

    def can_edit(self, user: User) -> bool:
        """Its owner renames it, shares it, names its team and deletes it."""
        return user.is_active and self.owner_id == user.pk

    def can_add(self, user: User, member_ids: Iterable[int]) -> bool:
        """Its owner, and a team collection's members, add practices, write notes and take them out."""
        return self.can_edit(user) or (user.is_active and self.is_team and user.pk in set(member_ids))


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="collection_items")
    note = models.TextField(blank=True, help_text="Why it is here: what to try, what to ask, who it suits.")
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-added_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["collection", "practice"], name="collection_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.practice} in {self.collection}"

    @property
    def names_saver(self) -> bool:
        """Whether the collection's page says who saved it: never when its author saved an entry
        they shared anonymously (their name beside it would tell who wrote it)."""
        return self.added_by_id is not None and not (
            self.practice.anonymous and self.added_by_id == self.practice.author_id
        )


class FollowQuerySet(models.QuerySet["Follow"]):
    def of(self, user: User) -> FollowQuerySet:
        return self.filter(user=user)


class Follow(models.Model):
    """Someone follows a tag, a school, a practice (its adaptations and changes) or a person (the
    entries they share under their name, never their anonymous ones). What is new from what they
    follow comes in their weekly digest."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    tag = models.ForeignKey("taggit.Tag", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    school = models.ForeignKey("portal.School", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, null=True, blank=True, related_name="follows")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="followers"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = FollowQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            # Exactly one thing is followed.
            models.CheckConstraint(
                condition=(
                    Q(tag__isnull=False, school__isnull=True, practice__isnull=True, person__isnull=True)
                    | Q(tag__isnull=True, school__isnull=False, practice__isnull=True, person__isnull=True)
                    | Q(tag__isnull=True, school__isnull=True, practice__isnull=False, person__isnull=True)
                    | Q(tag__isnull=True, school__isnull=True, practice__isnull=True, person__isnull=False)
                ),
                name="follow_one_thing",
            ),
            models.CheckConstraint(condition=~Q(person=F("user")), name="follow_not_oneself"),
            models.UniqueConstraint(fields=["user", "tag"], condition=Q(tag__isnull=False), name="follow_tag_once"),
            models.UniqueConstraint(
                fields=["user", "school"], condition=Q(school__isnull=False), name="follow_school_once"
            ),
            models.UniqueConstraint(
                fields=["user", "practice"], condition=Q(practice__isnull=False), name="follow_practice_once"
            ),
            models.UniqueConstraint(
                fields=["user", "person"], condition=Q(person__isnull=False), name="follow_person_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.tag or self.school or self.practice or self.person}"


class SearchWord(models.Model):
    """A word people wrote in some entry (its title, tags, text, iterations or failures): the
    list "Did you mean …?" and typo-forgiving search pick near spellings from. A word here is
    only ever suggested when searching with it finds entries the reader may open."""

    word = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["word"]

    def __str__(self) -> str:
        return self.word


def attachment_path(instance: Attachment, filename: str) -> str:
    """Stored under a generated name; the original name is kept only in the database."""
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"practice-attachments/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


class Attachment(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=120)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Removing an attachment hides it; staff can bring it back from the admin.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.original_name

    def get_absolute_url(self) -> str:
        return reverse("practices:attachment", args=[self.practice_id, self.pk])


# A practice, its iterations and failures are versioned together: one edit is one
# revision, and restoring it brings all three back as they were.
reversion.register(Practice, exclude=["search_document"], follow=["iterations", "failures"])
reversion.register(Iteration)
reversion.register(Failure)
