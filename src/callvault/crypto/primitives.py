"""Envelope encryption and blind indexes (DESIGN, "Storage"; GDPR Art. 32(1)(a), Art. 25).

- The **master key** (32 bytes) never touches the database: it comes from ``CALLVAULT_MASTER_KEY``
  (URL-safe base64) or a key file created with mode 0600.
- Each subject has a **data key** (DEK, AES-256-GCM), stored only wrapped by the master key. Its direct
  identifiers are encrypted with it. Destroying the wrapped DEK is crypto-shredding: every copy of the
  ciphertext, in backups and replicas too, becomes unreadable (Art. 17).
- Each tenant has a **blind-index key**, also wrapped by the master key: lookups use
  HMAC-SHA256(index key, normalised value). Per-tenant keys make the same number in two tenants
  unlinkable.
- Every ciphertext is bound to where it belongs by AES-GCM associated data (tenant, owner, field), so a
  ciphertext copied to another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from callvault.errors import ConfigError, IntegrityError

KEY_BYTES = 32
NONCE_BYTES = 12
INDEX_BYTES = 16  # 128-bit blind index: collisions are negligible, rows stay small

MASTER_KEY_ENV = "CALLVAULT_MASTER_KEY"
KEY_FILE_ENV = "CALLVAULT_KEY_FILE"
DEFAULT_KEY_FILE = "callvault.key"


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_key(text: str, *, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ConfigError(f"{source} is not URL-safe base64") from exc
    if len(key) != KEY_BYTES:
        raise ConfigError(f"{source} must decode to {KEY_BYTES} bytes, not {len(key)}")
    return key


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: nonce || ciphertext+tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise IntegrityError("a ciphertext does not authenticate (wrong key or tampered)") from exc


def blind_index(index_key: bytes, normalised: str) -> bytes:
    return hmac.new(index_key, normalised.encode("utf-8"), hashlib.sha256).digest()[:INDEX_BYTES]


def key_fingerprint(key: bytes) -> str:
    """A public check value for a key (never the key): lets a wrong master key fail early."""
    return hmac.new(key, b"callvault key check", hashlib.sha256).hexdigest()[:16]


class MasterKey:
    """The root of the key hierarchy. Wraps and unwraps the keys stored in the database."""

    def __init__(self, key: bytes, *, source: str) -> None:
        self._key = key
        self.source = source

    @property
    def fingerprint(self) -> str:
        return key_fingerprint(self._key)

    def wrap(self, key: bytes, aad: bytes) -> bytes:
        return seal(self._key, key, aad)

    def unwrap(self, wrapped: bytes, aad: bytes) -> bytes:
        try:
            return open_sealed(self._key, wrapped, aad)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_key(key) + "\n")
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
