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
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from callvault.errors import ConfigError, IntegrityError

KEY_BYTES = 32
NONCE_BYTES = 12
INDEX_BYTES = 16  # 128-bit blind index: collisions are negligible, rows stay small


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


def cipher(key: bytes | AESGCM) -> AESGCM:
    """The AES-256-GCM cipher of ``key``: made once, it seals many values under that key (its key
    schedule is most of the cost of sealing one short value)."""
    return key if isinstance(key, AESGCM) else AESGCM(key)


def seal(key: bytes | AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """AES-256-GCM: nonce || ciphertext+tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes | AESGCM, sealed: bytes, aad: bytes) -> bytes:
    try:
        return cipher(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise IntegrityError("a ciphertext does not authenticate (wrong key or tampered)") from exc


def blind_index(index_key: bytes, normalised: str) -> bytes:
    """HMAC-SHA256 of the normalised value, truncated: the one blind index of the vault, computed
    by :func:`blind_indexer` (nothing of the key is kept after the call)."""
    return blind_indexer(index_key)(normalised)


_BLOCK = hashlib.sha256().block_size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def blind_indexer(index_key: bytes) -> Callable[[str], bytes]:
    """The blind index under one key: HMAC-SHA256 (RFC 2104) of a value, truncated.

    HMAC (RFC 2104) hashes the key's inner and outer pads before every message; OpenSSL's one-shot
    ``hmac.digest`` does so on each call. Here they are hashed once and the two SHA-256 states
    copied per value, which is what a million source keys and linked-leg keys per ingest need.
    """
    key = hashlib.sha256(index_key).digest() if len(index_key) > _BLOCK else index_key
    padded = key.ljust(_BLOCK, b"\0")
    inner, outer = hashlib.sha256(padded.translate(_IPAD)), hashlib.sha256(padded.translate(_OPAD))

    def index(normalised: str) -> bytes:
        step = inner.copy()
        step.update(normalised.encode("utf-8"))
        done = outer.copy()
        done.update(step.digest())
        return done.digest()[:INDEX_BYTES]

    return index


def derive_key(base: bytes, label: str, *, length: int = KEY_BYTES) -> bytes:
    """A sub-key of ``base`` for one use only (HKDF-SHA256, RFC 5869; ``label`` is its info).

    One key, one use: a tenant's pseudonym key yields separate keys for contact tokens and for
    wrapping support-session keys, and a voicemail's key shares yield its content key.
    """
    info = f"callvault|{label}".encode()
    return HKDF(hashes.SHA256(), length, salt=None, info=info).derive(base)


def key_fingerprint(key: bytes) -> str:
    """A public check value for a key (never the key): lets a wrong master key fail early."""
    return hmac.new(key, b"callvault key check", hashlib.sha256).hexdigest()[:16]


def write_key_file(path: Path, key: bytes) -> None:
    """Write a new key file, mode 0600, durably; never overwrite one (O_EXCL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(encode_key(key) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
