"""Every e-mail the portal sends goes through here.

A message is built where it is asked for (in the request: templates, and names as the reader
may see them), kept as a queued delivery (portal.models.MailDelivery) with the change it
reports, and sent by a job (`mail_send`) once that change is saved: a job enqueued in a
transaction that rolls back never runs (portal.jobs.enqueue_on_commit). A worker sends it
(settings.TASKS), retried with backoff while the mail server does not answer; with the
immediate backend (development, tests) it is sent as soon as the change is saved, as before.

Nothing about the mail may turn the person's successful action into an error page: a mail
server that is down, an address or a header the mail library refuses, a template that fails
to render. The failure is logged for the operators, and the delivery says it failed.

Subjects are made single-line here, for every message: a title typed with a line break
(a showcase's, a practice's) must not make its e-mails fail with a "header injection"
error.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from portal.jobs import MAX_ATTEMPTS, retry_later, save_and_enqueue
from portal.models import DeliveryStatus, MailDelivery, MailKind, User

logger = logging.getLogger("portal.lib.mail")

# A subject longer than this is cut: mail clients show less, and header lines stay short.
SUBJECT_MAX_LENGTH = 200


def one_line(text: str) -> str:
    """`text` with every run of whitespace, line breaks included, made one space."""
    return " ".join(str(text).split())


def subject_line(text: str) -> str:
    """An e-mail subject: one line, of reasonable length."""
    line = one_line(text)
    if len(line) > SUBJECT_MAX_LENGTH:
        line = line[: SUBJECT_MAX_LENGTH - 1].rstrip() + "…"
    return line


def portal_email(
    subject: str,
    body: str,
    *,
    to: Sequence[str],
    attachments: Sequence[tuple[str, str | bytes, str]] = (),
) -> EmailMessage:
    """An e-mail from the portal, its subject on one line."""
    message = EmailMessage(subject_line(subject), body, to=list(to))
    for filename, content, mimetype in attachments:
        message.attach(filename, content, mimetype)
    return message


def _content_data(content: str | bytes) -> dict[str, str]:
    if isinstance(content, bytes):
        return {"base64": base64.b64encode(content).decode("ascii")}
    return {"text": content}


def _content(data: dict[str, str]) -> str | bytes:
    return base64.b64decode(data["base64"]) if "base64" in data else data["text"]


def message_data(message: EmailMessage) -> dict[str, Any]:
    """What a worker needs to send `message`, as JSON: addresses, headers, body, attachments
    (files given as name, content and type) and alternative bodies (an HTML part)."""
    attachments = []
    for attachment in message.attachments:
        if not isinstance(attachment, tuple):
            raise TypeError("Attach files as (name, content, type), not as MIME parts.")
        filename, content, mimetype = attachment
        attachments.append({"filename": filename, "mimetype": mimetype, **_content_data(content)})
    alternatives = [
        {"mimetype": mimetype, **_content_data(content)} for content, mimetype in getattr(message, "alternatives", [])
    ]
    return {
        "subject": str(message.subject),
        "body": str(message.body),
        "from_email": message.from_email,
        "to": list(message.to),
        "cc": list(message.cc),
        "bcc": list(message.bcc),
        "reply_to": list(message.reply_to),
        "headers": dict(message.extra_headers),
        "attachments": attachments,
        "alternatives": alternatives,
    }


def message_from_data(data: dict[str, Any]) -> EmailMessage:
    """The message `message_data` described."""
    message = EmailMultiAlternatives(
        data["subject"],
        data["body"],
        data["from_email"],
        to=data["to"],
        cc=data["cc"],
        bcc=data["bcc"],
        reply_to=data["reply_to"],
        headers=data["headers"],
    )
    for attachment in data["attachments"]:
        message.attach(attachment["filename"], _content(attachment), attachment["mimetype"])
    for alternative in data["alternatives"]:
        message.attach_alternative(_content(alternative), alternative["mimetype"])
    return message


def send_quietly(
    message: EmailMessage | Callable[[], EmailMessage | None],
    *,
    kind: MailKind = MailKind.NOTICE,
    person: User | None = None,
    delivery: MailDelivery | None = None,
) -> bool:
    """Queue one e-mail, sent once the change it reports is saved; never raise.

    Pass a function that builds the message to keep its building (templates, calendar files)
    under the same guard. `kind` and `person` say what the delivery is (an invitation, and who
    is invited); `delivery` is one queued already, waiting for its message (invitations).
    Says whether the message is on its way, or, when it was sent at once (the immediate
    backend, outside a transaction), whether it went. What fails is logged with the subject
    and recipients.
    """
    subject, recipients = "", ""
    try:
        built = message if isinstance(message, EmailMessage) else message()
        if built is None:
            return False
        built.subject = subject_line(str(built.subject))
        subject, recipients = built.subject, ", ".join(built.to)
        data = message_data(built)
    except Exception as error:
        # Any failure, not only the mail library's (a template, a refused header): the change
        # this e-mail reports is saved or about to be, and must stay a success.
        logger.exception("Could not send e-mail %r to %s", subject, recipients or "(not built)")
        if delivery is not None:
            _give_up(delivery, f"Could not be built: {error!r}")
        return False
    delivery = delivery or MailDelivery(kind=kind, person=person)
    delivery.to, delivery.subject, delivery.message = recipients[:1000], subject[:255], data
    result = save_and_enqueue(delivery, mail_send, str(delivery.key))
    if result is not None and result.is_finished:
        delivery.refresh_from_db(fields=["status"])
        return delivery.status != DeliveryStatus.FAILED
    return True


def _give_up(delivery: MailDelivery, error: str) -> None:
    delivery.status, delivery.status_at, delivery.error = DeliveryStatus.FAILED, timezone.now(), error[:500]
    delivery.save(update_fields=["status", "status_at", "error"])


@task()
def mail_send(key: str, attempt: int = 1) -> str:
    """Send the e-mail queued under `key`, once: a delivery already sent (this job run twice, or
    again after a crash) is not sent again. A failed attempt is tried again later
    (portal.jobs.retry_later); after the last the delivery is marked failed and the failure
    logged. Says what became of the delivery."""
    failure: Exception | None = None
    with transaction.atomic():
        # Locked while it is sent, so that two runs of this job take turns and the second finds it sent.
        delivery = MailDelivery.objects.select_for_update().filter(key=key).first()
        if delivery is None or delivery.status != DeliveryStatus.QUEUED:
            return delivery.status if delivery is not None else "missing"
        delivery.attempts = attempt
        try:
            message_from_data(delivery.message).send()
        except Exception as error:
            failure = error
        else:
            delivery.status, delivery.status_at, delivery.error = DeliveryStatus.SENT, timezone.now(), ""
            # What was sent is not kept: a message may hold a link that signs its reader in.
            delivery.message = {}
        delivery.save(update_fields=["attempts", "status", "status_at", "error", "message"])
    if failure is None:
        return DeliveryStatus.SENT
    # Retried outside the block above, so that the next attempt is not held back by it.
    if retry_later(mail_send, key, attempt=attempt + 1):
        MailDelivery.objects.filter(key=key).update(error=repr(failure)[:500])
        logger.warning(
            "Could not send e-mail %r to %s (attempt %d of %d); trying again later: %r",
            delivery.subject,
            delivery.to,
            attempt,
            MAX_ATTEMPTS,
            failure,
        )
        return DeliveryStatus.QUEUED
    logger.error("Could not send e-mail %r to %s", delivery.subject, delivery.to, exc_info=failure)
    _give_up(delivery, repr(failure))
    return DeliveryStatus.FAILED
