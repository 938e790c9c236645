"""Read-only pages of what the tenant has instructed and what it must publish: its collection
profile and service and support agreement, its Art. 30 record of processing, and the privacy
notice (Art. 13/14) generated from the policy in force, all for the signed-in admin's tenant only."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from callvault import (
    Principal,
    Vault,
    describe_tenant,
    records_as_markdown,
    records_of_processing,
    render_notice,
    tenant_profile,
)
from callvault.web.admin_common import page

router = APIRouter()
_MAIN = re.compile(r"<main>(.*)</main>", re.S)


def _profile(vault: Vault, who: Principal) -> dict[str, Any]:
    return {"tenant": describe_tenant(vault, who.tenant_id)}


def _records(vault: Vault, who: Principal) -> dict[str, Any]:
    return {"records": records_as_markdown(records_of_processing(vault, who.tenant_id))}


def _notice(vault: Vault, who: Principal) -> dict[str, Any]:
    url = vault.engine.url.render_as_string(hide_password=False)
    html = render_notice(vault.policy, tenant_profile(url, who.tenant_id), "html")
    found = _MAIN.search(html)
    # The notice comes from callvault's own autoescaping template: its body is safe to embed.
    return {"notice": Markup(found.group(1) if found else "")}


@router.get("/profile")
def profile_page(request: Request) -> Response:
    return page(request, "admin_profile.html", _profile)


@router.get("/records")
def records_page(request: Request) -> Response:
    return page(request, "admin_records.html", _records)


@router.get("/notice")
def notice_page(request: Request) -> Response:
    return page(request, "admin_notice.html", _notice)
