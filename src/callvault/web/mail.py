"""Delivering a sign-in code by e-mail over SMTP (``CALLVAULT_SMTP_URL``, e.g.
``smtp://127.0.0.1:8025``); without it (the demo) the code is printed on the server's console. The
address is the recipient only: it is never logged."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from urllib.parse import urlsplit

SENDER = "privacy-centre@callvault.invalid"


def send_code(smtp_url: str | None, address: str, code: str, subject_line: str, body: str) -> None:
    if not smtp_url:
        print(f"privacy centre sign-in code: {code}", file=sys.stderr, flush=True)
        return
    parts = urlsplit(smtp_url)
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = address
    message["Subject"] = subject_line
    message.set_content(body.format(code=code))
    with smtplib.SMTP(parts.hostname or "127.0.0.1", parts.port or 25, timeout=10) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(parts.username, parts.password or "")
        smtp.send_message(message)
