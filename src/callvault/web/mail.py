"""Delivering a sign-in code by e-mail over SMTP (``CALLVAULT_SMTP_URL``, e.g.
``smtp://127.0.0.1:8025``). ``CALLVAULT_SMTP_URL=console`` prints the code on the server's console:
for the demo only, since whoever reads the server's output could sign in as anyone. Unset, no code
is delivered at all (the privacy centre says sign-in by code is not available). The address is the
recipient only: it is never logged."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from urllib.parse import urlsplit

SENDER = "privacy-centre@callvault.invalid"
CONSOLE = "console"  # the demo's delivery: the code on the server's console


def send_code(smtp_url: str | None, address: str, code: str, subject_line: str, body: str) -> None:
    if not smtp_url:
        return  # no delivery configured: the privacy centre issues no code (see the docstring)
    if smtp_url == CONSOLE:
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
