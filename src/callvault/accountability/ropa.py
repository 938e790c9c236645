"""Records of processing activities (GDPR Art. 30), generated from the policy, profiles and live figures.

- Art. 30(2), one per tenant: what the operator, as processor, does on that controller's behalf.
- Art. 30(1), once: what the operator does as controller itself (bookkeeping, accountability).

Each record is built from the policy in force and the tenant's collection profile (its documented
instruction, Art. 28(3)(a)), plus the figures the vault holds now: records per kind and category, and
the last retention run (from the audit log). Renderings: JSON (:func:`ropa`), Markdown
(:func:`ropa_markdown`) and JSON-LD with W3C DPV terms (:mod:`callvault.accountability.ropa_jsonld`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from callvault.accountability.audit import entries
from callvault.accountability.notice import BASES, KINDS, human_period
from callvault.clock import utcnow
from callvault.policy.lint import EEA, RETENTION_KIND
from callvault.policy.taxonomy import KNOWN_CATEGORIES, PSEUDONYMOUS_ID
from callvault.store.audit_chain import OPERATOR
from callvault.tenants import Tenant, effective_retention, get_tenant, list_tenants, tenant_counts
from callvault.vault import Vault

SUBJECTS = {
    "users": "the tenant's users (its employees)",
    "external_callers": "external callers appearing in call records and voicemail",
}

# Art. 32 measures callvault itself implements (Art. 30(1)(g), 30(2)(d)).
SECURITY_MEASURES = [
    "identifiers encrypted with AES-256-GCM under a data key per subject, wrapped by a master key",
    "look-ups through keyed blind indexes (HMAC-SHA256); no identifier stored in clear",
    "erasure by crypto-shredding: the subject's data key is destroyed, then its rows",
    "every read passes a purpose and legal-basis gate; disclosure only to subject and controller",
    "tenant isolation on every query; surrogate keys only",
    "tamper-evident, hash-chained audit log written in the transaction of each change",
    "error diagnosis only in time-boxed support sessions on pseudonymised data",
    "master key rotation re-wraps every data key",
]

# What each kind of record is counted from (tenants.tenant_counts keys).
COUNT_OF_KIND = {"call_record": "calls", "voicemail": "voicemails", "subject_profile": "subjects"}


def last_retention_run(conn: Connection, tenant_id: str) -> str | None:
    """The newest "retention.run" audit entry in the operator's chain or the tenant's."""
    found = [
        row["at"]
        for chain in (OPERATOR, tenant_id)
        for row in entries(conn, chain, limit=1, action="retention.run")
    ]
    return max(found).isoformat() if found else None


def _purposes(vault: Vault, collected: set[str]) -> list[dict[str, Any]]:
    rows = []
    for name, spec in vault.policy.policy.purposes.items():
        categories = sorted(k for k in spec.categories if k in collected)
        if not categories:
            continue
        rows.append(
            {
                "name": name,
                "description": spec.text,
                "dpv": spec.dpv,
                "legal_basis": spec.legal_basis,
                "article": BASES.get(spec.legal_basis or "", ("?", ""))[0],
                "basis_reference": spec.legal_obligation or spec.legitimate_interest_assessment,
                "categories": categories,
                "output": spec.output,
                "access": spec.access,
            }
        )
    return rows


def _categories(collected: set[str], counts: dict[str, int]) -> list[dict[str, Any]]:
    rows = []
    for key in sorted(collected):
        known = KNOWN_CATEGORIES.get(key)
        kind = RETENTION_KIND.get(key)
        rows.append(
            {
                "key": key,
                "label": known.label if known else key,
                "dpv": known.dpv if known else None,
                "identifying": known.identifying if known else None,
                "kind_of_record": kind,
                "records_held": counts.get(COUNT_OF_KIND.get(kind or "", ""), 0),
            }
        )
    return rows


def _retention(vault: Vault, tenant: Tenant, collected: set[str]) -> list[dict[str, Any]]:
    kinds = {RETENTION_KIND.get(k) for k in collected}
    if "call_record" in kinds:
        kinds.add("billing_record")
    periods = effective_retention(vault, tenant)
    return [
        {
            "kind": kind,
            "label": KINDS.get(kind, kind),
            "period": periods[kind],
            "then": rule.then,
            "after": rule.after,
            "legal_obligation": rule.legal_obligation,
        }
        for kind, rule in vault.policy.retention.items()
        if kind in kinds
    ]


def processor_record(vault: Vault, conn: Connection, tenant: Tenant) -> dict[str, Any]:
    """The Art. 30(2) record the operator keeps for one tenant (controller)."""
    operator = vault.policy.policy.operator
    collected = set(tenant.collect)
    counts = tenant_counts(conn, tenant.id)
    return {
        "article": "Art. 30(2)",
        "processor": {
            "name": operator.name,
            "country": operator.country,
            "contact": operator.contact,
        },
        "controller": {"tenant": tenant.id, "name": tenant.name},
        "instruction": {
            "collect": sorted(collected),
            "agreement": tenant.agreement.as_dict() if tenant.agreement else None,
            "retention_overrides": tenant.retention,
        },
        "data_subjects": list(SUBJECTS.values()),
        "purposes": _purposes(vault, collected),
        "categories": _categories(collected, counts),
        "recipients": sorted(vault.policy.recipients),
        "sub_processors": sub_processors(vault),
        "transfers_to_third_countries": third_country_transfers(vault),
        "retention": _retention(vault, tenant, collected),
        "security_measures": SECURITY_MEASURES,
        "records_held": counts,
        "last_retention_run": last_retention_run(conn, tenant.id),
    }


def operator_record(vault: Vault, conn: Connection) -> dict[str, Any]:
    """The Art. 30(1) record of what the operator processes as controller for itself."""
    policy = vault.policy.policy
    own = [
        p
        for p in _purposes(vault, set(policy.categories))
        if p["legal_basis"] == "legal_obligation"
    ]
    own.append(
        {
            "name": "accountability",
            "description": "Keeping the audit log, consent records and deletion evidence that "
            "demonstrate compliance (Art. 5(2), Art. 7(1), Art. 30).",
            "dpv": "https://w3id.org/dpv#LegalCompliance",
            "legal_basis": "legal_obligation",
            "article": "Art. 6(1)(c)",
            "basis_reference": "GDPR Art. 5(2), Art. 7(1), Art. 30",
            "categories": [PSEUDONYMOUS_ID],
            "output": "records",
            "access": "direct",
        }
    )
    kinds = {k: r for k, r in vault.policy.retention.items() if r.legal_obligation}
    return {
        "article": "Art. 30(1)",
        "controller": {
            "name": policy.operator.name,
            "country": policy.operator.country,
            "contact": policy.operator.contact,
        },
        "data_subjects": list(SUBJECTS.values()),
        "purposes": own,
        "categories": _categories({k for p in own for k in p["categories"]}, {}),
        "recipients": ["tax and supervisory authorities, when the law requires it"],
        "transfers_to_third_countries": [],
        "retention": [
            {
                "kind": k,
                "label": KINDS.get(k, k),
                "period": str(r.period),
                "then": r.then,
                "after": r.after,
                "legal_obligation": r.legal_obligation,
            }
            for k, r in kinds.items()
        ],
        "security_measures": SECURITY_MEASURES,
        "tenants": len(list_tenants(conn)),
        "last_retention_run": last_retention_run(conn, OPERATOR),
    }


def ropa(vault: Vault, tenant_id: str | None = None) -> dict[str, Any]:
    """Every record: Art. 30(1) once and Art. 30(2) per tenant; with ``tenant_id`` that tenant's."""
    with vault.engine.connect() as conn:
        tenants = [get_tenant(conn, tenant_id)] if tenant_id else list_tenants(conn)
        return {
            "generated_at": utcnow().isoformat(),
            "policy_version": vault.policy.version,
            "operator_record": None if tenant_id else operator_record(vault, conn),
            "processor_records": [processor_record(vault, conn, t) for t in tenants],
        }


def sub_processors(vault: Vault) -> list[dict[str, Any]]:
    """The policy's sub-processors (Art. 28(2)), as the record, the notice and exports name them."""
    return [sub.model_dump() for sub in vault.policy.policy.sub_processors]


def third_country_transfers(vault: Vault) -> list[dict[str, Any]]:
    """Sub-processors outside the EU/EEA, with their safeguard (Art. 30(1)(e), Art. 46)."""
    return [sub for sub in sub_processors(vault) if sub["country"].upper() not in EEA]


def _md_record(record: dict[str, Any], lines: list[str]) -> None:
    for purpose in record["purposes"]:
        lines.append(
            f"- **{purpose['name']}**: {purpose['description']} Legal basis: "
            f"{purpose['legal_basis']} ({purpose['article']}). Categories: "
            f"{', '.join(purpose['categories'])}."
        )
    lines.append("")
    lines.append("Data subjects: " + "; ".join(record["data_subjects"]) + ".")
    lines.append("Recipients: " + ", ".join(record["recipients"]) + ".")
    subs = record.get("sub_processors", [])
    if subs:
        lines.append("Sub-processors: " + "; ".join(
            f"{s['name']} ({s['country']}, {s['service']})" for s in subs) + ".")  # fmt: skip
    transfers = record.get("transfers_to_third_countries", [])
    shown = "; ".join(f"{t['name']} ({t['country']}): {t['safeguard']}" for t in transfers)
    lines.append(f"Transfers to third countries: {shown or 'none'}.")
    lines.append("")
    for rule in record["retention"]:
        period = rule["period"]
        lines.append(
            f"- Retention of {rule['label']} (`{rule['kind']}`): {period} ("
            f"{human_period(_parse(period))}), then {rule['then']}."
        )
    lines.append("")
    lines.append("Security measures (Art. 32): " + "; ".join(record["security_measures"]) + ".")
    lines.append(f"Last retention run: {record['last_retention_run'] or 'never'}.")


def _parse(text: str | None) -> Any:
    from callvault.policy.periods import Period

    return Period.parse(text) if text and text != "None" else None


def ropa_markdown(data: dict[str, Any]) -> str:
    lines = [f"# Records of processing activities (policy {data['policy_version']})", ""]
    if data["operator_record"]:
        record = data["operator_record"]
        lines += [f"## Art. 30(1): {record['controller']['name']} as controller", ""]
        _md_record(record, lines)
        lines.append("")
    for record in data["processor_records"]:
        controller = record["controller"]
        lines += [
            f"## Art. 30(2): processing for {controller['name']} ({controller['tenant']})",
            "",
            f"Processor: {record['processor']['name']}. Controller: {controller['name']}.",
            "",
        ]
        _md_record(record, lines)
        lines.append(
            "Records held: "
            + ", ".join(f"{k} {v}" for k, v in record["records_held"].items())
            + "."
        )
        lines.append("")
    return "\n".join(lines)
