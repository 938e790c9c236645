"""The X.509 certificate of the OpenDSR signing key (OpenDSR sections 4.1, 6.3, 8.8).

OpenDSR's discovery publishes ``processor_certificate``: the URL of the X.509 certificate whose key
signs the processor's responses and status callbacks; a controller checks the certificate (not
expired, its SAN naming the ``X-OpenDSR-Processor-Domain``, key usage *digital signature*) and then
the signature with the certificate's public key.

The key is the callback-signing key of :mod:`callvault.rights.callbacks` (its seed in the key store,
never in the data database). Until the operator installs a certificate issued by a CA, callvault
uses a self-signed one for the configured domain, made on first use and kept in ``vault_meta``
(public material only). OpenDSR 4.1 says a self-signed certificate MUST NOT be used between real
parties: in production the operator makes a request with :func:`certificate_request`
(``callvault opendsr csr``), has a CA sign it, and installs the answer with
:func:`install_certificate` (``callvault opendsr install``), which accepts only a certificate of
this very key, with its audit entry.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import Connection, insert, select, update

from callvault.clock import utcnow
from callvault.errors import InvalidInput
from callvault.rights.callbacks import signing_key
from callvault.store.audit_chain import OPERATOR, AuditEntry
from callvault.store.schema.core import vault_meta
from callvault.vault import Vault

_NAME = "opendsr.certificate"  # vault_meta row: {"pem": ..., "installed": bool}
# The self-signed stand-in while an installed certificate cannot be served: a row of its own, so
# that serving never overwrites what the operator installed.
_STAND_IN = "opendsr.certificate.self_signed"
SELF_SIGNED_FOR = timedelta(days=365)
_RENEW_BEFORE = timedelta(days=30)


def _stored(conn: Connection, name: str = _NAME) -> dict[str, object] | None:
    value = conn.scalar(select(vault_meta.c.value).where(
        vault_meta.c.tenant_id == OPERATOR, vault_meta.c.name == name))  # fmt: skip
    return json.loads(value) if value else None


def _store(conn: Connection, pem: str, installed: bool, name: str = _NAME) -> None:
    value = json.dumps({"pem": pem, "installed": installed})
    where = (vault_meta.c.tenant_id == OPERATOR) & (vault_meta.c.name == name)
    if conn.execute(update(vault_meta).where(where).values(value=value)).rowcount == 0:
        conn.execute(insert(vault_meta), [{"tenant_id": OPERATOR, "name": name, "value": value}])


def _names(certificate: x509.Certificate) -> list[str]:
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(name) for name in san.value.get_values_for_type(x509.DNSName)]


def _names_domain(certificate: x509.Certificate, domain: str) -> bool:
    """Does a DNS name of the certificate match ``domain`` (RFC 6125 6.4: case-insensitive; a
    wildcard only as the whole left-most label, standing for exactly one label)?"""
    wanted = domain.lower().rstrip(".")
    first, _, rest = wanted.partition(".")
    for name in (n.lower().rstrip(".") for n in _names(certificate)):
        if name == wanted or (name.startswith("*.") and first and rest and name[2:] == rest):
            return True
    return False


def _fits(certificate: x509.Certificate, domain: str, now: datetime) -> bool:
    return (
        _names_domain(certificate, domain) and certificate.not_valid_after_utc - _RENEW_BEFORE > now
    )


def _self_signed(vault: Vault, domain: str, now: datetime) -> str:
    key = signing_key(vault)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                         vault.policy.policy.operator.name)])  # fmt: skip
    usage = x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=False,
                          crl_sign=False, encipher_only=False, decipher_only=False)  # fmt: skip
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + SELF_SIGNED_FOR)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _installed(conn: Connection, domain: str, now: datetime) -> tuple[str | None, bool]:
    """(the installed certificate if it can be served for ``domain`` at ``now``, whether one is
    installed). It can while it names the domain and has not expired."""
    stored = _stored(conn)
    if not stored or not stored["installed"]:
        return None, False
    pem = str(stored["pem"])
    certificate = _load(pem)
    usable = _names_domain(certificate, domain) and certificate.not_valid_after_utc > now
    return (pem if usable else None), True


def _servable(conn: Connection, domain: str, now: datetime) -> tuple[str | None, bool]:
    """(the certificate to serve for ``domain`` at ``now``, installed or stand-in, if one fits;
    whether one is installed)."""
    pem, installed = _installed(conn, domain, now)
    return pem or _stand_in(conn, domain, now), installed


def _stand_in(conn: Connection, domain: str, now: datetime) -> str | None:
    """The self-signed certificate kept for ``domain``, while it has 30 days left (a vault from
    before the stand-in row keeps it in the main row, not installed)."""
    for name in (_STAND_IN, _NAME):
        stored = _stored(conn, name)
        if stored and not stored["installed"] and _fits(_load(str(stored["pem"])), domain, now):
            return str(stored["pem"])
    return None


def callback_certificate(vault: Vault, domain: str) -> str:
    """The PEM certificate of the signing key: the installed (CA-issued) one while it names
    ``domain`` and has not expired; else a self-signed one naming ``domain``, made (and audited) on
    first use, when the domain changed, or within 30 days of its expiry. An installed certificate
    is never overwritten here (only :func:`install_certificate` replaces it): once renewed and
    installed again it is served again. A controller would reject an expired certificate or one of
    another domain, so none is served."""
    now = utcnow()
    with vault.engine.connect() as conn:
        pem, installed = _servable(conn, domain, now)
    if pem is not None:
        return pem
    with vault.transaction() as conn:  # another process may have made it meanwhile
        pem, installed = _servable(conn, domain, now)
        if pem is not None:
            return pem
        pem = _self_signed(vault, domain, now)
        _store(conn, pem, installed=False, name=_STAND_IN if installed else _NAME)
        details = {"self_signed": True, "domain": domain,
                   **({"installed_not_served": True} if installed else {})}  # fmt: skip
        vault.audit(conn, OPERATOR, AuditEntry(actor="operator", action="opendsr.certificate",
                                               details=details))  # fmt: skip
    return pem


def _load(pem: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError as exc:
        raise InvalidInput("is not a PEM X.509 certificate", pointer="certificate") from exc


def certificate_request(vault: Vault, domain: str) -> str:
    """A PEM certificate signing request (PKCS #10) for the signing key, naming ``domain``, for a
    CA to issue the certificate OpenDSR 4.1 asks for."""
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(signing_key(vault), hashes.SHA256())
    )
    return request.public_bytes(serialization.Encoding.PEM).decode("ascii")


def install_certificate(vault: Vault, pem: str, *, actor: str = "operator") -> dict[str, object]:
    """Install a CA-issued certificate of the signing key; refused (InvalidInput) when it is of
    another key, expired, or not for digital signatures. Returns what it names."""
    certificate = _load(pem)
    mine = signing_key(vault).public_key().public_numbers()
    theirs = certificate.public_key()
    if not isinstance(theirs, ec.EllipticCurvePublicKey) or theirs.public_numbers() != mine:
        raise InvalidInput("is not a certificate of this vault's OpenDSR signing key",
                           pointer="certificate")  # fmt: skip
    if certificate.not_valid_after_utc <= utcnow():
        raise InvalidInput("has expired", pointer="certificate")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
        if not usage.digital_signature:
            raise InvalidInput("does not allow digital signatures", pointer="certificate")
    except x509.ExtensionNotFound:
        pass
    shown = {"domains": _names(certificate), "issuer": certificate.issuer.rfc4514_string(),
             "not_after": certificate.not_valid_after_utc.isoformat(),
             "self_signed": certificate.issuer == certificate.subject}  # fmt: skip
    with vault.transaction() as conn:
        _store(conn, certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"), True)
        vault.audit(conn, OPERATOR, AuditEntry(actor=actor, action="opendsr.certificate",
                                               details={"installed": True, **shown}))  # fmt: skip
    return shown
