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
