"""Master key rotation: re-wrap every stored key under a new master key without touching data.

Order of work, so that a crash at any point loses nothing:
1. the new key is written beside the key file (``callvault.key.new``, mode 0600);
2. one database transaction re-wraps every tenant key and data key and records the audit entry;
3. the new key file replaces the old one.
If the process dies between 2 and 3, the next start finds that the old key no longer opens the vault
and the error says so: the new key is in ``callvault.key.new``; renaming it over the key file finishes
the rotation. With ``CALLVAULT_MASTER_KEY`` the operator supplies the new key and sets it afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

from callvault.crypto.master_key import MASTER_KEY_ENV, MasterKey, key_file_path
from callvault.crypto.primitives import decode_key, new_key, write_key_file
from callvault.errors import ConfigError
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.vault import Vault


def _pending_path(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def rotate_master_key(vault: Vault, *, new_key_text: str | None = None) -> dict[str, int]:
    """Re-wrap all keys under a new master key; returns counts of re-wrapped keys."""
    from_env = vault.keyring.master.source == MASTER_KEY_ENV
    if from_env and new_key_text is None:
        raise ConfigError(
            f"the master key comes from {MASTER_KEY_ENV}: give the new key with --new-key-env "
            "and set it in the environment after the rotation"
        )
    key = decode_key(new_key_text, source="new key") if new_key_text else new_key()
    new_master = MasterKey(key, source="new master key")
    path = key_file_path()
    if not from_env:
        pending = _pending_path(path)
        pending.unlink(missing_ok=True)
        write_key_file(pending, key)
    with vault.transaction() as conn:
        old = vault.keyring.master.fingerprint
        counts = vault.keyring.rotate(conn, new_master)
        vault.audit(
            conn,
            OPERATOR,
            AuditEntry(
                actor="operator",
                action="keys.rotate",
                details={**counts, "old_key": old, "new_key": new_master.fingerprint},
            ),
        )
    if not from_env:
        os.replace(_pending_path(path), path)
        vault.keyring.master = MasterKey(key, source=str(path))
    return counts
