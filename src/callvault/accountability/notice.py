"""The privacy notice (GDPR Art. 13 and 14), generated from the policy and the tenant's profile.

The notice is rendered from the same compiled policy the gates execute, so the two cannot disagree:
change a purpose, a basis or a retention period and the notice changes with it. With a tenant, the
notice shows only the categories that tenant collects and the retention it set (Art. 28(3)(a)).
"""

from __future__ import annotations

import hashlib
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from callvault.policy import CompiledPolicy
from callvault.policy.lint import RETENTION_KIND
from callvault.policy.periods import Period
from callvault.policy.taxonomy import KNOWN_CATEGORIES
from callvault.tenants import Tenant

FORMATS = ("md", "html")

BASES = {
    "consent": ("Art. 6(1)(a)", "your consent, which you can withdraw at any time"),
    "contract": ("Art. 6(1)(b)", "the service and support agreement with your company"),
    "legal_obligation": ("Art. 6(1)(c)", "a legal obligation"),
    "vital_interest": ("Art. 6(1)(d)", "vital interests"),
    "public_task": ("Art. 6(1)(e)", "a task in the public interest"),
    "legitimate_interest": ("Art. 6(1)(f)", "a legitimate interest, weighed against your rights"),
}

KINDS = {
    "call_record": "call records (who called whom, when, for how long)",
    "voicemail": "voicemail messages",
    "subject_profile": "your user profile (name, e-mail, number, department)",
    "billing_record": "billing records",
}

RECIPIENTS = {"subject": "you", "controller": "the company you work for (the controller)"}

RIGHTS = [
    ("access", "Art. 15", "see the data held about you", "dsr access --out you.zip"),
    (
        "rectification",
        "Art. 16",
        "have wrong data corrected",
        "dsr rectify --field name|email|phone --value <correct value>",
    ),
    ("erasure", "Art. 17", "have your data erased", "dsr erase"),
    ("restriction", "Art. 18", "have processing restricted", "dsr restrict"),
    (
        "portability",
        "Art. 20",
        "receive your data in a machine-readable format",
        "dsr access --portability --out you.zip",
    ),
    (
        "objection",
        "Art. 21",
        "object to processing based on legitimate interest",
        "dsr object --purpose <purpose>",
    ),
]


def human_period(period: Period | None) -> str:
    if period is None:
        return "no period set"
    parts = [
        f"{n} {unit}{'s' if n != 1 else ''}"
        for n, unit in (
            (period.years, "year"),
            (period.months, "month"),
            (period.days, "day"),
            (period.seconds, "second"),
        )
        if n
    ]
    return " ".join(parts) or "0 days"


def _category(key: str) -> dict[str, str]:
    known = KNOWN_CATEGORIES.get(key)
    return {"key": key, "label": known.label if known else key}


def _purposes(compiled: CompiledPolicy, collected: set[str]) -> list[dict[str, Any]]:
    shown = []
    for name, spec in compiled.policy.purposes.items():
        categories = [k for k in spec.categories if k in collected]
        if not categories:
            continue
        basis = spec.legal_basis or "none"
        article, label = BASES.get(basis, ("?", basis))
        detail = spec.legal_obligation or spec.legitimate_interest_assessment
        shown.append(
            {
                "name": name,
                "title": name.replace("_", " ").capitalize(),
                "text": spec.text,
                "basis": basis,
                "article": article,
                "basis_label": label,
                "basis_detail": detail,
                "categories": [_category(k) for k in categories],
                "pseudonymised": [_category(k)["label"] for k in spec.pseudonymise],
                "support_session": spec.access == "support_session",
                "statistics_only": spec.output == "anonymous_statistics",
                "dpv": spec.dpv,
            }
        )
    return shown


def _retention(compiled: CompiledPolicy, tenant: Tenant | None) -> list[dict[str, Any]]:
    collected = set(tenant.collect) if tenant else set(compiled.policy.categories)
    kinds = {RETENTION_KIND.get(k) for k in collected}
    if "call_record" in kinds:
        kinds.add("billing_record")  # billing records are made from calls
    rows = []
    for kind, rule in compiled.retention.items():
        if kind not in kinds:
            continue
        override = tenant.retention.get(kind) if tenant else None
        period = Period.parse(override) if override else rule.period
        rows.append(
            {
                "kind": kind,
                "label": KINDS.get(kind, kind),
                "period": str(period) if period else None,
                "period_text": human_period(period),
                "then": rule.then,
                "after": rule.after,
                "legal_obligation": rule.legal_obligation,
            }
        )
    return rows


def notice_context(compiled: CompiledPolicy, tenant: Tenant | None = None) -> dict[str, Any]:
    policy = compiled.policy
    collected = set(tenant.collect) if tenant else set(policy.categories)
    return {
        "version": policy.version,
        "digest": compiled.digest,
        "operator": policy.operator,
        "tenant": tenant,
        "categories": [_category(k) for k in policy.categories if k in collected],
        "purposes": _purposes(compiled, collected),
        "recipients": [RECIPIENTS.get(r, r) for r in policy.recipients],
        "sub_processors": policy.sub_processors,
        "retention": _retention(compiled, tenant),
        "rights": RIGHTS,
        "tenant_arg": tenant.id if tenant else "T",
        "consent_purposes": [n for n, p in compiled.purposes.items() if p.legal_basis == "consent"],
        "k": policy.k_anonymity,
    }


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("callvault.accountability", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_notice(compiled: CompiledPolicy, tenant: Tenant | None = None, fmt: str = "md") -> str:
    """The privacy notice as Markdown or HTML."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}")
    template = _environment().get_template(f"notice.{fmt}.j2")
    return template.render(**notice_context(compiled, tenant))


_HASHES: dict[tuple[Any, ...], str] = {}


def notice_hash(compiled: CompiledPolicy, tenant: Tenant | None) -> str:
    """SHA-256 of the Markdown notice a subject of ``tenant`` is shown (bound to consent records)."""
    key: tuple[Any, ...] = (compiled.digest,)
    if tenant is not None:
        key += (tenant.id, tenant.name, tenant.collect, tuple(sorted(tenant.retention.items())))
    if key not in _HASHES:  # the notice is a pure function of these; render it once
        text = render_notice(compiled, tenant, "md")
        _HASHES[key] = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return _HASHES[key]
