"""``callvault demo`` builds a vault through the ingest paths and prints curl lines that work as
printed: here each is sent, as written, to the app in process."""

from __future__ import annotations

import shlex
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from callvault import Vault, authenticate, describe_tenant, verify_audit
from callvault.api import create_app
from clihelp import run_cli


def _requests(out: str) -> list[tuple[str, str, dict[str, str]]]:
    sent = []
    for line in out.splitlines():
        if not line.startswith("curl "):
            continue
        words = shlex.split(line)
        method = words[words.index("-X") + 1] if "-X" in words else "GET"
        name, _, value = words[words.index("-H") + 1].partition(": ")
        url = urlsplit(words[-1])
        sent.append((method, f"{url.path}?{url.query}" if url.query else url.path, {name: value}))
    return sent


def test_demo_prints_tokens_and_curl_lines_that_work(cli_env, vault: Vault, capsys) -> None:  # type: ignore[no-untyped-def]
    made = run_cli(capsys, "demo", "--users", "12", "--calls", "400")
    assert made.code == 0, made.err
    acme = describe_tenant(vault, "acme")
    assert acme["counts"]["subjects"] >= 7 and acme["counts"]["calls"] > 0
    assert acme["counts"]["voicemails"] > 0
    assert describe_tenant(vault, "globex")["counts"]["subjects"] >= 4
    assert verify_audit(vault).ok
    tokens = [line.split()[-1] for line in made.out.splitlines() if line.startswith("  ")]
    roles = {authenticate(vault, token).role for token in tokens}
    assert roles == {"tenant_admin", "service", "support_engineer", "subject"}
    client = TestClient(create_app(vault))
    requests = _requests(made.out)
    assert len(requests) >= 8
    statuses = [client.request(m, path, headers=h).status_code for m, path, h in requests]
    assert statuses == [200] * (len(requests) - 1) + [404]


def test_demo_sign_in_lines_work_as_printed(cli_env, vault: Vault, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The tour's last lines: the admin console with the printed admin token, and the privacy
    centre as the printed subject with the code the server prints (CALLVAULT_SMTP_URL=console, as
    the demo says and `make run` sets)."""
    import re

    from webhelp import csrf_of

    made = run_cli(capsys, "demo", "--users", "12", "--calls", "400")
    assert made.code == 0, made.err
    admin_token = next(
        line.split()[-1] for line in made.out.splitlines() if line.startswith("  admin")
    )
    login = re.search(r"admin console: \S+(/admin/login)", made.out)
    centre = re.search(r"privacy centre: \S+?(/privacy/\w+/) \(sign in as (\S+?);", made.out)
    assert login and centre and "CALLVAULT_SMTP_URL=console" in made.out, made.out
    monkeypatch.setenv("CALLVAULT_SMTP_URL", "console")
    client = TestClient(create_app(vault), base_url="https://testserver")
    form = client.get(login.group(1))
    page = client.post(login.group(1), data={"token": admin_token, "csrf": csrf_of(form.text)})
    assert page.status_code == 200 and page.url.path == "/admin/requests"
    assert "data-overdue" in page.text or "Overdue" in page.text

    path, address = centre.group(1), centre.group(2)
    subject = TestClient(create_app(vault), base_url="https://testserver")
    csrf = csrf_of(subject.get(path).text)
    capsys.readouterr()
    asked = subject.post(f"{path}code", data={"address": address, "csrf": csrf})
    code = re.search(r"sign-in code: (\d{6})", capsys.readouterr().err)
    assert code, "the server printed no code"
    page = subject.post(f"{path}code/verify",
                        data={"code": code.group(1), "csrf": csrf_of(asked.text)})  # fmt: skip
    assert page.status_code == 200 and page.url.path == f"{path}me"
