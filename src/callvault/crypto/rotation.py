"""Master key rotation: re-wrap every key in the key store under a new master key, without touching
data, so that a kill at any moment leaves exactly one key that opens the vault.

Every wrapped key lives in the key store, so the re-wrap and the new key's fingerprint commit in one
key-store transaction: that commit is the moment the new key takes over. Around it, with a key file:

1. the current key is verified (``Vault.open`` checks its fingerprint) and no earlier rotation may be
   unresolved: a ``callvault.key.new`` beside the key file stops the rotation, with what to do;
2. the new key is written to ``callvault.key.new.tmp``, fsynced and renamed to ``callvault.key.new``
   (so a ``.new`` file is always whole);
3. the key store re-wraps every key and records the new fingerprint (one transaction);
4. the operator's audit chain records the rotation (old and new fingerprints);
5. ``callvault.key.new`` replaces the key file (rename, then the directory is fsynced).

Killed before 3: the old key still opens the vault, and ``.new`` is left over (remove it). Killed after
3: the old key is refused with a message naming ``.new``, which opens the vault (move it over the key
file). With ``CALLVAULT_MASTER_KEY`` the operator supplies the new key and sets it afterwards.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from callvault.crypto.master_key import MASTER_KEY_ENV, MasterKey, key_file_path
from callvault.crypto.primitives import decode_key, key_fingerprint, new_key, write_key_file
from callvault.errors import ConfigError
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.vault import Vault

FAULT_ENV = "CALLVAULT_FAULT"  # tests: "rotate:<step>" SIGKILLs the process at that step


def _fault(step: str) -> None:
    """Fault injection for the kill-at-every-step test; inert unless the variable names the step."""
    if os.environ.get(FAULT_ENV) == f"rotate:{step}":
        os.kill(os.getpid(), signal.SIGKILL)


def _pending_path(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _refuse_if_unresolved(vault: Vault, path: Path) -> None:
    pending = _pending_path(path)
    if not pending.exists():
        return
    committed = vault.keyring.keystore.fingerprint()
    try:
        pending_fp = key_fingerprint(decode_key(pending.read_text(), source=str(pending)))
    except ConfigError:
        pending_fp = None
    if committed == pending_fp:  # cannot happen while the current key opened the vault
        raise ConfigError(f"{pending} opens the vault: move it over {path} to finish the rotation")
    raise ConfigError(
        f"an earlier rotation did not commit: {path} still opens the vault and {pending} opens "
        f"nothing; remove {pending} and run `callvault keys rotate` again"
    )


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
        _refuse_if_unresolved(vault, path)
        temporary = path.with_name(path.name + ".new.tmp")
        temporary.unlink(missing_ok=True)
        write_key_file(temporary, key)
        _fault("written")
        try:  # link, not replace: a second rotation at the same time fails here, never overwrites
            os.link(temporary, _pending_path(path))
        except FileExistsError as exc:
            raise ConfigError(
                f"{_pending_path(path)} appeared: another rotation is running"
            ) from exc
        finally:
            temporary.unlink(missing_ok=True)
        _fsync_dir(path)
        _fault("pending")
    old = vault.keyring.master.fingerprint
    fingerprints = {"old_key": old, "new_key": new_master.fingerprint}
    with vault.transaction() as conn:  # recorded before the commit point: a kill after it is seen
        vault.audit(conn, OPERATOR, AuditEntry(actor="operator", action="keys.rotate.begin",
                                               details=fingerprints))  # fmt: skip
    counts = vault.keyring.rotate(new_master)  # the commit point
    _fault("rewrapped")
    with vault.transaction() as conn:
        vault.audit(conn, OPERATOR, AuditEntry(actor="operator", action="keys.rotate",
                                               details={**counts, **fingerprints}))  # fmt: skip
    _fault("audited")
    if not from_env:
        os.replace(_pending_path(path), path)
        _fsync_dir(path)
        vault.keyring.master = MasterKey(key, source=str(path))
    return counts
