"""What practices tell the portal's notifications: who may see a practice a notice is about, and
each person's part of the weekly digest."""

from __future__ import annotations

from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q, QuerySet
from taggit.models import TaggedItem

from portal.models import User, school_similarity
from portal.notifications.models import register_visibility
from portal.notifications.services import DigestItem, DigestSection, register_digest
from practices.filters import like_mine_reasons
from practices.models import Follow, Practice

# How many entries each part of a digest lists at most (the portal has the rest).
DIGEST_ITEMS = 10
# Schools like mine, for the digest: sharing at least this many of level, size, FRL share and locale.
LIKE_MINE_AT_LEAST = 3


def _visible_practices(user: User) -> QuerySet[Practice]:
    return Practice.objects.visible_to(user)


def _line(practice: Practice, why: str = "") -> DigestItem:
    text = f"{practice.title} — {practice.school.name}"
    return DigestItem(f"{text} ({why})" if why else text, practice.get_absolute_url())


def digest_for(user: User, since: datetime) -> list[DigestSection]:
    """New practices (published since `since`) from what `user` follows and from schools like
    theirs, and changes to practices they follow, as `user` may see them. Never their own, and
    a person followed counts only with the entries they share under their name."""
    follows = list(Follow.objects.of(user))
    if not follows and user.school is None:
        return []
    seen = Practice.objects.visible_to(user).published().exclude(author=user).select_related("school")
    new = seen.filter(published_at__gte=since)
    sections: list[DigestSection] = []
    followed_ids: set[int] = set()
    if follows:
        tag_ids = [f.tag_id for f in follows if f.tag_id]
        tagged = TaggedItem.objects.filter(
            content_type=ContentType.objects.get_for_model(Practice), object_id=OuterRef("pk"), tag_id__in=tag_ids
        )
        from_follows = (
            Q(Exists(tagged))
            | Q(school_id__in=[f.school_id for f in follows if f.school_id])
            | Q(adapted_from_id__in=[f.practice_id for f in follows if f.practice_id])
            | Q(author_id__in=[f.person_id for f in follows if f.person_id], anonymous=False)
        )
        followed = list(new.filter(from_follows).order_by("-published_at", "-pk")[:DIGEST_ITEMS])
        followed_ids = {practice.pk for practice in followed}
        sections.append(DigestSection("New from what you follow", [_line(practice) for practice in followed]))
        changed = seen.filter(
            pk__in=[f.practice_id for f in follows if f.practice_id], updated_at__gte=since, published_at__lt=since
        ).order_by("-updated_at", "-pk")[:DIGEST_ITEMS]
        sections.append(DigestSection("Practices you follow that changed", [_line(practice) for practice in changed]))
    if user.school is not None:
        alike = (
            new.exclude(school=user.school)
            .exclude(pk__in=followed_ids)
            .annotate(likeness=school_similarity(user.school))
            .filter(likeness__gte=LIKE_MINE_AT_LEAST)
            .order_by("-likeness", "-published_at", "-pk")[:DIGEST_ITEMS]
        )
        sections.append(
            DigestSection(
                "New from schools like yours",
                [_line(practice, like_mine_reasons(user.school, practice.school)) for practice in alike],
            )
        )
    return sections


def register() -> None:
    register_visibility(Practice, _visible_practices)
    register_digest(digest_for)
