"""Sending e-mail after a change has been saved.

The change is already committed when these run (transaction.on_commit), so a mail
server that is down must not turn the person's successful action into an error page:
the failure is logged for the operators instead.
"""

import logging
import smtplib

from django.core.mail import EmailMessage

logger = logging.getLogger("portal.mail")


def send_quietly(message: EmailMessage) -> bool:
    try:
        message.send()
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not send e-mail %r to %s", message.subject, ", ".join(message.to))
        return False
    return True
