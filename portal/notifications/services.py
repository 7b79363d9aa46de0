"""Sending notices, counting unread ones, e-mail choices, one-click unsubscribe, the weekly digest."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from portal.lib.mail import portal_email, send_quietly
from portal.models import User
from portal.notifications.models import (
    DIGEST,
    EMAIL_TOPICS,
    Notification,
    NotificationKind,
    NotificationSettings,
    about_key,
    forget_unread_count,
    visible_objects,
)

logger = logging.getLogger("portal.notifications")

UNSUBSCRIBE_SALT = "portal.notifications.unsubscribe"
# One digest a week: a second run within this time sends nothing.
DIGEST_INTERVAL = timedelta(days=6)
DIGEST_PERIOD = timedelta(days=7)


def may_see(user: User, about: models.Model | None) -> bool:
    """Whether `user` may see the object a notice is about (no object: yes)."""
    if about is None:
        return True
    label, pk = about_key(about)
    visible = visible_objects(label)
    return visible is not None and visible(user).filter(pk=pk).exists()


def settings_of(user: User) -> NotificationSettings:
    found = NotificationSettings.objects.filter(user=user).first()
    return found if found is not None else NotificationSettings(user=user)


def notify(
    *,
    recipient: User,
    kind: NotificationKind,
    text: str,
    url: str,
    about: models.Model | None = None,
    email: bool = True,
) -> Notification | None:
    """Tell `recipient` something, in the list at /notifications/ and, if they chose so, by e-mail.

    `text` is written by the caller, naming people as `recipient` may see them (portal.naming);
    `url` is the portal page to open; `about` the object it concerns, so the notice is left out
    wherever `recipient` may not see that object (and is not sent at all if they may not now).
    `email=False` when the caller sends its own e-mail for the same event. Nobody inactive is
    told anything. Returns the notice, or None when nothing was sent.
    """
    if not recipient.is_active or not may_see(recipient, about):
        return None
    about_type, about_id = about_key(about) if about is not None else ("", None)
    notification = Notification.objects.create(
        recipient=recipient,
        kind=kind,
        text=text[:500],
        url=url[:500],
        about_type=about_type,
        about_id=about_id,
    )
    forget_unread_count(recipient.pk)
    transaction.on_commit(partial(forget_unread_count, recipient.pk))
    if email and recipient.email and settings_of(recipient).emails(kind):
        transaction.on_commit(partial(send_quietly, partial(_notice_email, notification.pk)))
    return notification


def absolute(path: str) -> str:
    return settings.PORTAL_BASE_URL + path


def unsubscribe_token(user: User, topic: str) -> str:
    """The signed part of a one-click unsubscribe link: who, and from what."""
    return signing.dumps([user.pk, topic], salt=UNSUBSCRIBE_SALT)


def unsubscribe_url(user: User, topic: str) -> str:
    return absolute(reverse("notifications:unsubscribe", args=[unsubscribe_token(user, topic)]))


def read_unsubscribe_token(token: str) -> tuple[User, str] | None:
    """Whose link it is and which topic it stops, or None for a link that is damaged or
    names nobody active. Links do not expire: an old e-mail's link must still work."""
    try:
        user_id, topic = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or topic not in dict(EMAIL_TOPICS):
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    return (user, topic) if user is not None else None


def topic_label(topic: str) -> str:
    return dict(EMAIL_TOPICS)[topic]


def list_headers(user: User, topic: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058 headers: mail programs offer an unsubscribe button that POSTs
    "List-Unsubscribe=One-Click" to the link, which works without signing in."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(user, topic)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _notice_email(notification_id: int) -> EmailMessage | None:
    """The e-mail of one notice, built once it is saved; None if it may no longer be seen."""
    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None:
        return None
    recipient = notification.recipient
    if not Notification.objects.visible_to(recipient).filter(pk=notification.pk).exists():
        return None
    context = {
        "recipient": recipient,
        "text": notification.text,
        "url": absolute(notification.url),
        "topic_label": topic_label(notification.kind),
        "settings_url": absolute(reverse("notifications:settings")),
        "unsubscribe_url": unsubscribe_url(recipient, notification.kind),
        "portal_name": settings.PORTAL_NAME,
    }
    message = portal_email(
        notification.text, render_to_string("portal/notifications_email.txt", context), to=[recipient.email]
    )
    message.extra_headers.update(list_headers(recipient, notification.kind))
    return message


def notifications_read(*, user: User, notifications: Iterable[int] | None = None) -> int:
    """Mark `user`'s notices read (all of them, or those ids); returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notifications is not None:
        unread = unread.filter(pk__in=list(notifications))
    changed = unread.update(read_at=timezone.now())
    forget_unread_count(user.pk)
    return changed


def email_topics_set(*, user: User, topics: Iterable[str]) -> NotificationSettings:
    """Keep the topics `user` wants by e-mail (the others are turned off)."""
    wanted = set(topics)
    with transaction.atomic():
        chosen, _created = NotificationSettings.objects.select_for_update().get_or_create(user=user)
        chosen.email_off = [topic for topic, _label in EMAIL_TOPICS if topic not in wanted]
        chosen.save(update_fields=["email_off"])
    return chosen


def email_topic_turn_off(*, user: User, topic: str) -> NotificationSettings:
    """Stop e-mails of one topic (the unsubscribe link); the in-app list is unchanged."""
    with transaction.atomic():
        chosen, _created = NotificationSettings.objects.select_for_update().get_or_create(user=user)
        if topic not in chosen.email_off:
            chosen.email_off = [*chosen.email_off, topic]
            chosen.save(update_fields=["email_off"])
    return chosen


# -- The weekly digest ---------------------------------------------------------------------


@dataclass(frozen=True)
class DigestItem:
    text: str
    url: str


@dataclass(frozen=True)
class DigestSection:
    title: str
    items: list[DigestItem] = field(default_factory=list)


# A feature's part of a person's digest: what is new since the date, as that person may see it.
DigestBuilder = Callable[[User, datetime], list[DigestSection]]
_DIGEST_BUILDERS: list[DigestBuilder] = []


def register_digest(builder: DigestBuilder) -> None:
    if builder not in _DIGEST_BUILDERS:
        _DIGEST_BUILDERS.append(builder)


def digest_sections(user: User, since: datetime) -> list[DigestSection]:
    sections: list[DigestSection] = []
    for builder in _DIGEST_BUILDERS:
        sections += [section for section in builder(user, since) if section.items]
    return sections


def _digest_email(user: User, sections: list[DigestSection]) -> EmailMessage:
    context = {
        "recipient": user,
        "sections": [
            {"title": section.title, "items": [(item.text, absolute(item.url)) for item in section.items]}
            for section in sections
        ],
        "settings_url": absolute(reverse("notifications:settings")),
        "unsubscribe_url": unsubscribe_url(user, DIGEST),
        "portal_name": settings.PORTAL_NAME,
    }
    message = portal_email(
        f"This week on {settings.PORTAL_NAME}",
        render_to_string("portal/notifications_digest.txt", context),
        to=[user.email],
    )
    message.extra_headers.update(list_headers(user, DIGEST))
    return message


def digest_send(*, user: User, now: datetime | None = None) -> bool:
    """Send `user` their weekly digest, unless they turned it off, had one less than
    DIGEST_INTERVAL ago, or nothing is new for them. Returns whether one was sent.

    The week is claimed before sending: two runs at once send one digest."""
    now = now or timezone.now()
    if not user.is_active or not user.email:
        return False
    chosen, _created = NotificationSettings.objects.get_or_create(user=user)
    last = chosen.digest_sent_at
    if not chosen.emails(DIGEST) or (last is not None and now - last < DIGEST_INTERVAL):
        return False
    since = max(last, now - DIGEST_PERIOD) if last is not None else now - DIGEST_PERIOD
    sections = digest_sections(user, since)
    if not sections:
        return False
    unclaimed = models.Q(digest_sent_at=last) if last is not None else models.Q(digest_sent_at__isnull=True)
    if not NotificationSettings.objects.filter(unclaimed, pk=chosen.pk).update(digest_sent_at=now):
        return False
    return send_quietly(partial(_digest_email, user, sections))


def digests_send(*, now: datetime | None = None) -> int:
    """Every active person's weekly digest; returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for user in User.objects.active().exclude(email="").order_by("pk").iterator(chunk_size=500):
        try:
            sent += digest_send(user=user, now=now)
        except Exception:
            # One person's digest failing must not stop everyone else's.
            logger.exception("Could not build the digest of user %s", user.pk)
    return sent
