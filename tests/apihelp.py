"""The API under test: an app on the test vault, two tenants, their users and a token per role."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from callvault import Vault, create_token, ingest_voicemail
from callvault.api import create_app
from callvault.store.schema.core import voicemails
from factories import make_call, make_tenant, make_user
from spool import write_message

AUDIO = b"RIFF-api-test-audio"

PROBLEM_KEYS = {"type", "title", "status", "detail"}


@dataclass
class World:
    vault: Vault
    client: TestClient
    alice: str
    carol: str
    bob: str
    voicemail: str
    tokens: dict[str, str] = field(default_factory=dict)
    token_ids: dict[str, str] = field(default_factory=dict)

    def call(self, method: str, path: str, who: str | None = None, **kwargs: Any) -> Any:
        headers = kwargs.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return self.client.request(method, path, headers=headers, **kwargs)


def make_world(vault: Vault, **app_options: Any) -> World:
    make_tenant(vault, "acme")
    make_tenant(vault, "globex")
    alice = make_user(vault, "acme")
    carol = make_user(vault, "acme", name="Carol C", email="carol@acme.dk", phone="+4522334466",
                      extension="202")  # fmt: skip
    bob = make_user(vault, "globex", name="Bob B", email="bob@globex.dk", phone="+4533445566")
    make_call(vault, "acme", caller_id=alice, callee_id=carol)
    voicemail = _voicemail(vault)
    world = World(vault, TestClient(create_app(vault, **app_options)), alice, carol, bob, voicemail)
    roles = {
        "admin": ("acme", "tenant_admin", {"name": "hr"}),
        "service": ("acme", "service", {"name": "app", "purposes": ["personalisation"]}),
        "stats": ("acme", "service", {"name": "bi", "purposes": ["customer_service"]}),
        "support": ("acme", "support_engineer", {"name": "eng-joe"}),
        "alice": ("acme", "subject", {"subject": alice}),
        "carol": ("acme", "subject", {"subject": carol}),
        "operator": (None, "operator_admin", {"name": "ops"}),
        "globex": ("globex", "tenant_admin", {"name": "it"}),
        "globex-service": ("globex", "service", {"name": "app", "purposes": ["personalisation"]}),
    }
    for key, (tenant, role, options) in roles.items():
        token, principal = create_token(vault, tenant, role, **options)
        world.tokens[key] = token
        world.token_ids[key] = principal.token_id
    return world


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    """The one error shape (RFC 9457): media type and exactly these keys."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_KEYS
    assert body["status"] == status
    return body


def _voicemail(vault: Vault) -> str:
    """One message in alice's mailbox (extension 201), ingested from a spool."""
    with tempfile.TemporaryDirectory() as tmp:
        write_message(Path(tmp) / "default" / "201" / "INBOX", mailbox="201",
                      callerid="<+4550505050>", origtime=int(time.time()) - 3600, msg_id="1-1",
                      audio=AUDIO)  # fmt: skip
        ingest_voicemail(vault, "acme", tmp)
    with vault.engine.connect() as conn:
        return str(conn.scalar(select(voicemails.c.voicemail_id)))
