"""Sending e-mail behind a small interface chosen by settings.

`FileMailer` is the development stand-in: it writes each message as an .eml file under
`<data_dir>/mail/` and says so in the log. `SmtpMailer` sends through a real server.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from microcred.kit.db import new_id
from microcred.kit.settings import Settings

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class FileMailer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: EmailMessage) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{new_id()}.eml"
        path.write_bytes(bytes(message))
        log.warning("DEVELOPMENT MAILER: e-mail to %s written to %s, not sent", message["To"], path)


class SmtpMailer:
    def __init__(
        self, host: str, port: int, *, username: str | None, password: str | None, starttls: bool
    ) -> None:
        self.host, self.port = host, port
        self.username, self.password, self.starttls = username, password, starttls

    def send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def mailer_from(settings: Settings) -> Mailer:
    if settings.smtp_host:
        return SmtpMailer(
            settings.smtp_host,
            settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )
    return FileMailer(settings.data_dir / "mail")


def message(*, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail.set_content(body)
    return mail
