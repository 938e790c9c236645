"""The key hierarchy at run time: tenant keys, operator keys and subject data keys, unwrapped on
demand and cached.

Every wrapped key lives in the key store (:mod:`callvault.crypto.keystore`), apart from the data:
tenant keys (blind index, pseudonym) and the operator's keys (audit chain, checkpoint signing),
created on first use, and each subject's data key. Unwrapped keys live only in this process's memory.
Rotation re-wraps every stored key under a new master key and touches no ciphertext of data (DESIGN,
"Storage").
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Connection

from callvault.crypto.keystore import KeyStore, message_aad
from callvault.crypto.master_key import MasterKey
from callvault.crypto.primitives import blind_index, new_key, open_sealed, seal
from callvault.errors import ConfigError, IntegrityError

TENANT_KEY_PURPOSES = ("blind_index", "pseudonym")
OPERATOR_KEYS = "_operator"  # the key store's owner of the operator-wide keys
_DEK_CACHE_SIZE = 100_000
_BATCH = 5_000


def _tenant_aad(tenant_id: str, purpose: str) -> bytes:
    return f"tenant-key|{tenant_id}|{purpose}".encode()


def _dek_aad(tenant_id: str, subject_id: str) -> bytes:
    return f"dek|{tenant_id}|{subject_id}".encode()


def field_aad(tenant_id: str, owner_id: str, field: str) -> bytes:
    """Binds a ciphertext to its row and field: a copied ciphertext does not decrypt elsewhere."""
    return f"data|{tenant_id}|{owner_id}|{field}".encode()


class Keyring:
    def __init__(self, master: MasterKey, keystore: KeyStore) -> None:
        self.master = master
        self.keystore = keystore
        self._tenant_keys: dict[tuple[str, str], bytes] = {}
        self._deks: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._unsaved: dict[str, dict[str, bytes]] = {}  # tenant -> subject -> wrapped data key
        self._unsaved_messages: dict[str, dict[str, bytes]] = {}  # tenant -> voicemail -> key

    # --- tenant and operator keys ------------------------------------------------------------
    def tenant_key(self, _conn: Connection | None, tenant_id: str, purpose: str) -> bytes:
        """The tenant's key for ``purpose`` (created in the key store on first use)."""
        cached = self._tenant_keys.get((tenant_id, purpose))
        if cached is not None:
            return cached
        aad = _tenant_aad(tenant_id, purpose)
        wrapped = self.keystore.wrapped(tenant_id, purpose)
        if wrapped is None:
            wrapped = self.keystore.add_if_absent(
                tenant_id, purpose, self.master.wrap(new_key(), aad), self.master.fingerprint
            )
        key = self.master.unwrap(wrapped, aad)
        self._tenant_keys[(tenant_id, purpose)] = key
        return key

    def check_master(self) -> None:
        """Before a key store records its first master key fingerprint: the key must open a key
        it already holds (adopted from an older vault), else IntegrityError (exit 6)."""
        if self.keystore.fingerprint() is not None:
            return  # bind() compares fingerprints
        sample = self.keystore.sample()
        if sample is None:
            return
        kind, tenant_id, owner, wrapped = sample
        aad = _tenant_aad(tenant_id, owner) if kind == "tenant" else _dek_aad(tenant_id, owner)
        try:
            self.master.unwrap(wrapped, aad)
        except ConfigError as exc:
            raise IntegrityError(
                f"the master key from {self.master.source} does not open this vault's keys"
            ) from exc

    def audit_key(self) -> bytes:
        """The key of the audit chain's HMAC: write access to the data alone cannot forge it."""
        return self.tenant_key(None, OPERATOR_KEYS, "audit")

    def signing_seed(self) -> bytes:
        """32 random bytes, the Ed25519 private key that signs audit checkpoints."""
        return self.tenant_key(None, OPERATOR_KEYS, "signing")

    def callback_seed(self) -> bytes:
        """32 random bytes from which the ECDSA P-256 key signing OpenDSR callbacks is derived
        (kept apart from the checkpoint key: a leaked callback key forges no checkpoint)."""
        return self.tenant_key(None, OPERATOR_KEYS, "callback_signing")

    def index(self, conn: Connection, tenant_id: str, form: str) -> bytes:
        """The tenant's blind index of an already-normalised value (see identifiers.index_form)."""
        return blind_index(self.tenant_key(conn, tenant_id, "blind_index"), form)

    # --- subject data keys -------------------------------------------------------------------
    def new_deks(self, tenant_id: str, subject_ids: Iterable[str]) -> dict[str, bytes]:
        """Fresh data keys for new subjects. Their wrapped forms wait in :meth:`flush`, which
        ``Vault.transaction`` calls before its data commits (one key-store transaction for all)."""
        deks = {subject_id: new_key() for subject_id in subject_ids}
        unsaved = self._unsaved.setdefault(tenant_id, {})
        for subject_id, dek in deks.items():
            unsaved[subject_id] = self.master.wrap(dek, _dek_aad(tenant_id, subject_id))
            self._remember(tenant_id, subject_id, dek)
        return deks

    def new_message_key(self, tenant_id: str, voicemail_id: str) -> bytes:
        """A voicemail message's own key, stored with :meth:`flush` like a new data key."""
        key = new_key()
        wrapped = self.master.wrap(key, message_aad(tenant_id, voicemail_id))
        self._unsaved_messages.setdefault(tenant_id, {})[voicemail_id] = wrapped
        return key

    def new_session_key(self, tenant_id: str, session_id: str) -> None:
        """A support session's own pseudonym key, stored in the key store at once."""
        purpose = f"session:{session_id}"
        wrapped = self.master.wrap(new_key(), _tenant_aad(tenant_id, purpose))
        self.keystore.add_if_absent(tenant_id, purpose, wrapped, self.master.fingerprint)

    def session_key(self, tenant_id: str, session_id: str) -> bytes | None:
        """The session's key; None once it is destroyed (the session was closed)."""
        purpose = f"session:{session_id}"
        wrapped = self.keystore.wrapped(tenant_id, purpose)
        return (
            None
            if wrapped is None
            else self.master.unwrap(wrapped, _tenant_aad(tenant_id, purpose))
        )

    def message_key(self, tenant_id: str, voicemail_id: str) -> bytes:
        """IntegrityError when the message's key is destroyed (the message was deleted)."""
        found = self.message_keys(tenant_id, [voicemail_id]).get(voicemail_id)
        if found is None:
            raise IntegrityError("the voicemail's key is destroyed: it was deleted")
        return found

    def message_keys(self, tenant_id: str, voicemail_ids: Iterable[str]) -> dict[str, bytes]:
        """{voicemail id: message key}, one key-store query per thousand; a destroyed key is absent."""
        wrapped = self.keystore.wrapped_message_keys(tenant_id, voicemail_ids)
        return {
            vid: self.master.unwrap(key, message_aad(tenant_id, vid))
            for vid, key in wrapped.items()
        }

    def discard(self) -> None:
        """Drop the unsaved keys of a transaction that rolled back."""
        for tenant_id, wrapped in self._unsaved.items():
            self.forget(tenant_id, list(wrapped))
        self._unsaved, self._unsaved_messages = {}, {}

    def flush(self) -> None:
        """Store the new data keys in the key store, before the data that needs them commits (a
        data transaction that then rolls back leaves only unused keys behind)."""
        unsaved, self._unsaved = self._unsaved, {}
        for tenant_id, wrapped in unsaved.items():
            self.keystore.add_deks(tenant_id, wrapped, self.master.fingerprint)
        messages, self._unsaved_messages = self._unsaved_messages, {}
        for tenant_id, wrapped in messages.items():
            self.keystore.add_message_keys(tenant_id, wrapped, self.master.fingerprint)

    def new_dek(self, tenant_id: str, subject_id: str) -> bytes:
        return self.new_deks(tenant_id, [subject_id])[subject_id]

    def deks(self, tenant_id: str, subject_ids: Iterable[str]) -> dict[str, bytes]:
        """{subject id: data key} of these subjects; a shredded subject has none (absent)."""
        found: dict[str, bytes] = {}
        missing = []
        for subject_id in set(subject_ids):
            cached = self._deks.get((tenant_id, subject_id))
            if cached is None:
                missing.append(subject_id)
            else:
                found[subject_id] = cached
        for subject_id, wrapped in self.keystore.wrapped_deks(tenant_id, missing).items():
            dek = self.master.unwrap(wrapped, _dek_aad(tenant_id, subject_id))
            self._remember(tenant_id, subject_id, dek)
            found[subject_id] = dek
        return found

    def dek(self, tenant_id: str, subject_id: str) -> bytes:
        """One subject's data key; IntegrityError when it is gone (the subject was shredded)."""
        found = self.deks(tenant_id, [subject_id]).get(subject_id)
        if found is None:
            raise IntegrityError("a subject's data key is destroyed (crypto-shredded)")
        return found

    def forget(self, tenant_id: str, subject_ids: list[str]) -> None:
        """Drop shredded subjects' keys from memory too."""
        for subject_id in subject_ids:
            self._deks.pop((tenant_id, subject_id), None)

    def _remember(self, tenant_id: str, subject_id: str, dek: bytes) -> None:
        self._deks[(tenant_id, subject_id)] = dek
        if len(self._deks) > _DEK_CACHE_SIZE:
            self._deks.popitem(last=False)

    # --- data ---------------------------------------------------------------------------------
    @staticmethod
    def encrypt(dek: bytes | AESGCM, plaintext: bytes, aad: bytes) -> bytes:
        """Seal under ``dek``; pass ``cipher(dek)`` when sealing several values under one key."""
        return seal(dek, plaintext, aad)

    @staticmethod
    def decrypt(dek: bytes | AESGCM, sealed: bytes, aad: bytes) -> bytes:
        return open_sealed(dek, sealed, aad)

    # --- rotation -----------------------------------------------------------------------------
    def rotate(self, new_master: MasterKey) -> dict[str, int]:
        """Re-wrap every key of the key store under ``new_master`` (one transaction there)."""
        counts = self.keystore.rewrap(self.master, new_master, _tenant_aad, _dek_aad)
        self.master = new_master
        return counts
