"""Probes for a load balancer: alive (``/healthz``) and ready to serve (``/readyz``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from callvault import ConfigError
from callvault.api.deps import VaultDep
from callvault.api.problems import documented

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz", responses=documented(500), summary="The database answers")
def readyz(vault: VaultDep) -> dict[str, Any]:
    if not vault.ready():
        raise ConfigError("the vault's database does not answer")
    return {"status": "ready"}
