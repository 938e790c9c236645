"""Dependencies the routes share: the vault the app serves."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from callvault import Vault
from callvault.api.auth import vault_of

VaultDep = Annotated[Vault, Depends(vault_of)]
