"""Every e-mail the portal sends goes through here.

Mail is sent after the change it reports has been saved (transaction.on_commit), so
nothing about the mail may turn the person's successful action into an error page: a
mail server that is down, an address or a header the mail library refuses, a template
that fails to render. The failure is logged for the operators instead.

Subjects are made single-line here, for every message: a title typed with a line break
(a showcase's, a practice's) must not make its e-mails fail with a "header injection"
error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from django.core.mail import EmailMessage

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


def send_quietly(message: EmailMessage | Callable[[], EmailMessage | None]) -> bool:
    """Send one e-mail and say whether it went; never raise.

    Pass a function that builds the message to keep its building (templates, calendar
    files) under the same guard. Whatever fails is logged with the subject and recipients.
    """
    subject, recipients = "", ""
    try:
        built = message if isinstance(message, EmailMessage) else message()
        if built is None:
            return False
        built.subject = subject_line(str(built.subject))
        subject, recipients = built.subject, ", ".join(built.to)
        built.send()
    except Exception:
        # Any failure, not only the mail server's (a refused header is a ValueError): the
        # change this e-mail reports is already saved and must stay a success.
        logger.exception("Could not send e-mail %r to %s", subject, recipients or "(not built)")
        return False
    return True
