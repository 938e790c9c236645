"""The policy linter: where a policy document is unlawful or weak, with the GDPR article that says so.

The loader rejects what cannot be read (wrong types, unknown keys). Everything that can be read but is
wrong in law is a *finding* here, so that ``policy check`` reports all of them at once:

- ``error``: the policy cannot be lawfully executed as written (``policy load`` refuses it);
- ``warning``: lawful only with care the document does not show.

Each rule is a small function ``(policy) -> Iterator[Finding]``; :data:`RULES` is the order of the report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from callvault.errors import PolicyInvalid
from callvault.policy.loader import _cross_references, parse_policy
from callvault.policy.model import LEGAL_BASES, Policy

Severity = Literal["error", "warning"]

# Which kind of record (retention rule) holds each category (Art. 5(1)(e) needs one rule per category).
RETENTION_KIND = {
    "user.behavior.call_history": "call_record",
    "user.content.private.voicemail": "voicemail",
    "user.name": "subject_profile",
    "user.contact.email": "subject_profile",
    "user.contact.phone_number": "subject_profile",
    "user.contact.organization": "subject_profile",
    "user.unique_id.pseudonymous": "subject_profile",
}

# Recipients that are not third parties (Art. 4(10)): the data subject and the controller.
OWN_RECIPIENTS = frozenset({"subject", "controller"})

# Field-name tokens that identify a person directly or in combination (Recital 26; DESIGN,
# "Anonymisation is not deletion of the name"): Asterisk's clid/channel/lastdata carry numbers too.
IDENTIFYING_TOKENS = frozenset(
    {
        "phone", "number", "msisdn", "email", "name", "caller", "callee", "extension", "subject",
        "user", "id", "uri", "sip", "ip", "clid", "src", "dst", "channel", "dstchannel",
        "lastdata", "userfield", "uniqueid", "linkedid", "accountcode", "imsi", "imei", "voicemail",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    article: str
    message: str
    path: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LintReport:
    source: str
    version: str | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "version": self.version,
            "ok": self.ok,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [f.as_dict() for f in self.findings],
        }


def _error(code: str, article: str, message: str, path: str) -> Finding:
    return Finding(code, "error", article, message, path)


def _warning(code: str, article: str, message: str, path: str) -> Finding:
    return Finding(code, "warning", article, message, path)


# -- rules -----------------------------------------------------------------------------------------


def consent_implied_by_use(policy: Policy) -> Iterator[Finding]:
    if policy.consent.implied_by_use:
        yield _error(
            "consent-implied-by-use",
            "Art. 4(11), Art. 7(2)",
            "using a service is not consent: consent needs a clear affirmative act per purpose, "
            "given freely and separately from the terms, and as easy to withdraw as to give "
            "(EDPB Guidelines 05/2020)",
            "consent.implied_by_use",
        )


def legal_bases(policy: Policy) -> Iterator[Finding]:
    for name, purpose in policy.purposes.items():
        path = f"purposes.{name}.legal_basis"
        basis = purpose.legal_basis
        if basis is None:
            yield _error(
                "basis-missing",
                "Art. 6(1)",
                f"purpose {name} has no legal basis: processing without one is unlawful",
                path,
            )
        elif basis not in LEGAL_BASES:
            yield _error(
                "basis-not-in-art-6",
                "Art. 6(1)",
                f"purpose {name}: {basis!r} is not a legal basis of Art. 6(1); work agreed in the "
                "service agreement rests on 'contract' (Art. 6(1)(b)), other work on "
                "'legitimate_interest' (Art. 6(1)(f)) with a documented assessment",
                path,
            )
        elif basis == "legitimate_interest" and not purpose.legitimate_interest_assessment:
            yield _error(
                "legitimate-interest-without-assessment",
                "Art. 6(1)(f), Art. 5(2)",
                f"purpose {name} rests on legitimate interest without a reference to the "
                "balancing test that shows the interest is not overridden by the subjects' rights",
                f"purposes.{name}.legitimate_interest_assessment",
            )
        elif basis == "legal_obligation" and not purpose.legal_obligation:
            yield _warning(
                "legal-obligation-unnamed",
                "Art. 6(3)",
                f"purpose {name} rests on a legal obligation but does not name the law",
                f"purposes.{name}.legal_obligation",
            )


def consent_from_employees(policy: Policy) -> Iterator[Finding]:
    if not policy.consent.subjects_are_employees or policy.consent.no_detriment:
        return
    for name, purpose in policy.purposes.items():
        if purpose.legal_basis == "consent":
            yield _warning(
                "consent-from-employees",
                "Art. 7(4), Recital 43",
                f"purpose {name} rests on the consent of employees, which is rarely free (WP29 "
                "Opinion 2/2017); document that refusing has no consequence (consent.no_detriment) "
                "or choose another basis",
                f"purposes.{name}.legal_basis",
            )


def purposes_without_categories(policy: Policy) -> Iterator[Finding]:
    for name, purpose in policy.purposes.items():
        if not purpose.categories:
            yield _error(
                "purpose-without-categories",
                "Art. 5(1)(b), Art. 30(1)(c)",
                f"purpose {name} names no categories of personal data: what it may use is unbounded",
                f"purposes.{name}.categories",
            )


def unused_categories(policy: Policy) -> Iterator[Finding]:
    used = {key for purpose in policy.purposes.values() for key in purpose.categories}
    for key in policy.categories:
        if key not in used:
            yield _error(
                "category-unused",
                "Art. 5(1)(c)",
                f"category {key} is collected but used by no purpose (data minimisation)",
                f"categories.{key}",
            )


def categories_without_retention(policy: Policy) -> Iterator[Finding]:
    for key in policy.categories:
        kind = RETENTION_KIND.get(key)
        if kind is None:
            yield _warning(
                "category-without-record-kind",
                "Art. 5(1)(e)",
                f"category {key}: callvault does not know which kind of record holds it, so no "
                "retention rule can be shown to cover it",
                f"categories.{key}",
            )
            continue
        rule = policy.retention.get(kind)
        if rule is None or rule.period is None:
            yield _error(
                "category-without-retention",
                "Art. 5(1)(e)",
                f"category {key} ({kind}) has no retention period: it would be kept identifiable "
                "without limit",
                f"retention.{kind}",
            )


def _identifying(field_name: str, policy: Policy) -> bool:
    if field_name in policy.categories:
        return policy.categories[field_name].identifying != "none"
    tokens = field_name.lower().replace(".", "_").replace("-", "_").split("_")
    return any(token in IDENTIFYING_TOKENS for token in tokens)


def anonymisation_keeps_identifiers(policy: Policy) -> Iterator[Finding]:
    for kind, rule in policy.retention.items():
        if rule.then != "anonymise":
            continue
        for index, kept in enumerate(rule.keeps):
            if _identifying(kept, policy):
                yield _error(
                    "anonymisation-keeps-identifier",
                    "Art. 4(1), Recital 26",
                    f"{kind} is 'anonymised' but keeps {kept}, a direct or quasi identifier: the "
                    "result is still personal data",
                    f"retention.{kind}.keeps.{index}",
                )


def third_party_recipients(policy: Policy) -> Iterator[Finding]:
    for index, recipient in enumerate(policy.recipients):
        if recipient not in OWN_RECIPIENTS:
            yield _error(
                "recipient-third-party",
                "Art. 28(3)(a), Art. 29",
                f"recipient {recipient!r} is a third party: a processor discloses only to the "
                "controller and the subject, on the controller's documented instruction",
                f"recipients.{index}",
            )


# The EU member states and the other EEA states (Iceland, Liechtenstein, Norway): no Chapter V transfer.
EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)


def sub_processors_outside_eea(policy: Policy) -> Iterator[Finding]:
    for index, sub in enumerate(policy.sub_processors):
        if sub.country.upper() not in EEA and not (sub.safeguard or "").strip():
            yield _warning(
                "sub-processor-transfer",
                "Art. 44, Art. 46",
                f"sub-processor {sub.name!r} is in {sub.country}, outside the EU/EEA, and names no "
                "safeguard (adequacy decision, standard contractual clauses, BCRs)",
                f"sub_processors.{index}",
            )


def retention_beyond_legal_maximum(policy: Policy) -> Iterator[Finding]:
    for kind, rule in policy.retention.items():
        period, limit = rule.period, rule.legal_maximum
        if period is not None and limit is not None and limit < period:
            yield _error(
                "retention-beyond-legal-maximum",
                "Art. 5(1)(e)",
                f"{kind} is kept for {period}, longer than the legal maximum {limit}",
                f"retention.{kind}",
            )


RULES: tuple[Callable[[Policy], Iterator[Finding]], ...] = (
    consent_implied_by_use,
    legal_bases,
    consent_from_employees,
    purposes_without_categories,
    unused_categories,
    categories_without_retention,
    anonymisation_keeps_identifiers,
    third_party_recipients,
    sub_processors_outside_eea,
    retention_beyond_legal_maximum,
)


# -- entry points ----------------------------------------------------------------------------------


def lint(policy: Policy, *, source: str = "<policy>") -> LintReport:
    findings = [
        _error("category-undeclared", "Art. 30(1)(c)", problem, problem.split(":", 1)[0])
        for problem in _cross_references(policy)
    ]
    for rule in RULES:
        findings.extend(rule(policy))
    return LintReport(source, policy.version, findings)


def _lenient(text: str, source: str) -> Policy:
    """Parse a document that may use undeclared categories: that is a finding, not a crash."""
    try:
        return parse_policy(text, source=source)
    except PolicyInvalid as strict:
        try:
            return Policy.model_validate(yaml.safe_load(text))
        except (ValidationError, yaml.YAMLError):
            raise strict from None


def lint_text(text: str, *, source: str = "<policy>") -> LintReport:
    return lint(_lenient(text, source), source=source)


def lint_file(path: str | Path) -> LintReport:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyInvalid(f"cannot read policy {path}: {exc.strerror}") from exc
    return lint_text(text, source=str(path))
