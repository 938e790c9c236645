"""The master key: the root of the key hierarchy, which never touches the database (Art. 32(1)(a)).

It comes from ``CALLVAULT_MASTER_KEY`` (URL-safe base64) or a key file created with mode 0600 by
``callvault init``; it wraps the tenant keys and the subjects' data keys.
"""

from __future__ import annotations

import os
from pathlib import Path

from callvault.crypto.primitives import (
    cipher,
    decode_key,
    key_fingerprint,
    new_key,
    open_sealed,
    seal,
    write_key_file,
)
from callvault.errors import ConfigError, IntegrityError

MASTER_KEY_ENV = "CALLVAULT_MASTER_KEY"
KEY_FILE_ENV = "CALLVAULT_KEY_FILE"
DEFAULT_KEY_FILE = "callvault.key"


class MasterKey:
    """The root of the key hierarchy. Wraps and unwraps the keys stored in the database."""

    def __init__(self, key: bytes, *, source: str) -> None:
        self._key = key
        self._cipher = cipher(key)  # every key wrap and unwrap uses it
        self.source = source

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self._key)

    def wrap(self, key: bytes, aad: bytes) -> bytes:
        return seal(self._cipher, key, aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        try:
            return open_sealed(self._cipher, wrapped, aad)
        except IntegrityError as exc:
            hint = ""
            if Path(self.source + ".new").exists():
                hint = f" (a key rotation was interrupted: {self.source}.new holds the new key)"
            raise ConfigError(
                f"the master key from {self.source} does not open this vault's keys{hint}"
            ) from exc

    def __repr__(self) -> str:  # never print key material, not even in tracebacks
        return f"MasterKey(source={self.source!r}, fingerprint={self.fingerprint})"


def key_file_path() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV, DEFAULT_KEY_FILE))


def create_key_file(path: Path) -> MasterKey:
    """Create a new key file with mode 0600; never overwrite an existing one."""
    key = new_key()
    write_key_file(path, key)
    return MasterKey(key, source=str(path))


def load_master_key(*, create: bool = False) -> MasterKey:
    """The master key from the environment, else from the key file (created when asked)."""
    env = os.environ.get(MASTER_KEY_ENV)
    if env:
        return MasterKey(decode_key(env, source=MASTER_KEY_ENV), source=MASTER_KEY_ENV)
    path = key_file_path()
    if path.exists():
        if path.stat().st_mode & 0o077:
            raise ConfigError(f"key file {path} is readable by others; chmod 600 it")
        return MasterKey(decode_key(path.read_text(), source=str(path)), source=str(path))
    if create:
        return create_key_file(path)
    raise ConfigError(
        f"no master key: set {MASTER_KEY_ENV} or run `callvault init` to create {path}"
    )
