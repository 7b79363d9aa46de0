"""What this app tells others about writes that send no model signal.

Some changes to a session are written with QuerySet.update() under the session's lock (seats
taken and given back, a cancellation, new details, check-in), which sends no post_save. Each
such write sends `session_changed` after it, so an app that follows sessions (the district
dashboard's summaries) hears of it; this app knows nothing of who listens.
"""

from __future__ import annotations

from datetime import datetime

from django.dispatch import Signal

from showcases.models import VisitSlot

# Sent with sender=VisitSlot, `slot` (the session as written) and `starts_before` (when the
# write moved the session, the time it started before; otherwise None).
session_changed = Signal()


def session_changed_send(slot: VisitSlot, *, starts_before: datetime | None = None) -> None:
    session_changed.send(sender=VisitSlot, slot=slot, starts_before=starts_before)
