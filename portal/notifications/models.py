from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core.cache import cache
from django.db import models
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from portal.lib.kept_pages import pages_changed

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from portal.models import User

# Who may see objects of each kind a notice can be about, registered by the feature apps
# (`register_visibility`): model label -> the objects a person may see.
VisibleObjects = Callable[["User"], "models.QuerySet[Any]"]
_VISIBILITY: dict[str, VisibleObjects] = {}


def register_visibility(model: type[models.Model], visible: VisibleObjects) -> None:
    """Say which objects of `model` a person may see, so that notices about the others are left out."""
    _VISIBILITY[model._meta.label_lower] = visible


def about_key(about: models.Model) -> tuple[str, int]:
    """How a notice names the object it is about."""
    return about._meta.label_lower, int(about.pk)


def visible_objects(model_label: str) -> VisibleObjects | None:
    return _VISIBILITY.get(model_label)


class NotificationKind(models.TextChoices):
    """What a notice is about; each person chooses which kinds also come by e-mail."""

    REQUEST_DECISION = "request_decision", "Decisions on my visit requests"
    WAITLIST_PROMOTION = "waitlist_promotion", "A seat for me from a waiting list"
    ADOPTION = "adoption", "Colleagues trying my practices, and each step they report"
    ADAPTATION = "adaptation", "Adaptations of my practices"
    QUESTION = "question", "Questions about my practices"
    ANSWER = "answer", "Answers to my questions"
    ORIGINAL_CHANGED = "original_changed", "Changes to practices I adapted"
    SURVEY_OPEN = "survey_open", "The leadership survey opening"
    SURVEY_CLOSING = "survey_closing", "The leadership survey about to close"


# The weekly digest is chosen like a kind of notice, though it is never one in the list.
DIGEST = "digest"
DIGEST_LABEL = "A weekly digest of new practices from what I follow and from schools like mine"
EMAIL_TOPICS: list[tuple[str, str]] = [*NotificationKind.choices, (DIGEST, DIGEST_LABEL)]


class NotificationQuerySet(models.QuerySet["Notification"]):
    def visible_to(self, user: User | AnonymousUser) -> NotificationQuerySet:
        """The one access rule: a person's own notices, leaving out those about an object they
        may no longer see (an entry archived or kept in its school since), and those about a
        kind of object no app vouches for."""
        if not user.is_authenticated or not user.is_active:
            return self.none()
        seen = models.Q(about_type="")
        for label, visible in _VISIBILITY.items():
            seen |= models.Q(about_type=label) & models.Q(
                models.Exists(visible(user).filter(pk=models.OuterRef("about_id")))
            )
        return self.filter(seen, recipient=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=24, choices=NotificationKind.choices)
    # Written by the feature that sends it, naming people as the recipient may see them.
    text = models.CharField(max_length=500)
    url = models.CharField(max_length=500)
    # The object it is about ("practices.practice", 12), so that a notice about something its
    # reader may no longer see is left out. Empty when it is about nothing in particular.
    about_type = models.CharField(max_length=60, blank=True)
    about_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_recipient_idx"),
            models.Index(
                fields=["recipient"], name="notification_unread_idx", condition=models.Q(read_at__isnull=True)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=NotificationKind.values), name="notification_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(about_type="", about_id__isnull=True) | ~models.Q(about_type=""),
                name="notification_about_has_type",
            ),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class NotificationSettings(models.Model):
    """A person's choices: which topics also come by e-mail (all do until turned off), and
    when their last weekly digest went."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    # Topics (NotificationKind values and DIGEST) the person does not want by e-mail.
    email_off = models.JSONField(default=list, blank=True)
    digest_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"Notification settings of {self.user}"

    def emails(self, topic: str) -> bool:
        return topic not in self.email_off


# The navigation's unread count is kept this long between changes, so pages read it without a
# query. Every notice and every "read" forgets it at once; this only bounds how long another
# app server's copy may lag, and how long a notice about an entry hidden since still counts.
UNREAD_SECONDS = 60


def _unread_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def forget_unread_count(user_id: int) -> None:
    cache.delete(_unread_key(user_id))
    # The count is on every page: pages kept with the old one are not served again.
    pages_changed()


def unread_count(user: User) -> int:
    """How many notices `user` has not read, among those they may see (kept for UNREAD_SECONDS)."""
    key = _unread_key(user.pk)
    count = cache.get(key)
    if count is None:
        count = Notification.objects.visible_to(user).unread().count()
        cache.set(key, count, UNREAD_SECONDS)
    return int(count)


@receiver(user_logged_in, dispatch_uid="notifications-count-at-sign-in")
def count_unread_at_sign_in(sender: type[User], request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    """Count at sign-in, so the first page after it reads the navigation's count from the cache."""
    unread_count(user)
