"""The Art. 30 records as JSON-LD, in the W3C Data Privacy Vocabulary (DPV).

Purposes, legal bases, personal data categories, controllers, processors and recipients are DPV
concepts named by their IRIs (``https://w3id.org/dpv#...``, ``https://w3id.org/dpv/pd#...``), with
the GDPR article of each legal basis from DPV's EU-GDPR extension
(``https://w3id.org/dpv/legal/eu/gdpr#A6-1-a`` ...), so that other tools can read the records.
"""

from __future__ import annotations

from typing import Any

from callvault.policy.taxonomy import DPV, DPV_PD

EU_GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"

CONTEXT: dict[str, Any] = {
    "dpv": DPV,
    "pd": DPV_PD,
    "eu-gdpr": EU_GDPR,
    "dct": "http://purl.org/dc/terms/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "name": "http://purl.org/dc/terms/title",
    "description": "http://purl.org/dc/terms/description",
}

LEGAL_BASIS_IRIS = {
    "consent": (DPV + "Consent", EU_GDPR + "A6-1-a"),
    "contract": (DPV + "Contract", EU_GDPR + "A6-1-b"),
    "legal_obligation": (DPV + "LegalObligation", EU_GDPR + "A6-1-c"),
    "vital_interest": (DPV + "VitalInterest", EU_GDPR + "A6-1-d"),
    "public_task": (DPV + "PublicInterest", EU_GDPR + "A6-1-e"),
    "legitimate_interest": (DPV + "LegitimateInterest", EU_GDPR + "A6-1-f"),
}

RECIPIENT_IRIS = {"subject": DPV + "DataSubject", "controller": DPV + "DataController"}


def _ref(iri: str) -> dict[str, str]:
    return {"@id": iri}


def _process(
    record_id: str,
    purpose: dict[str, Any],
    record: dict[str, Any],
    controller: dict[str, Any],
    processor: dict[str, Any] | None,
) -> dict[str, Any]:
    dpv_of = {c["key"]: c["dpv"] for c in record.get("categories", [])}
    node: dict[str, Any] = {
        "@id": f"{record_id}/{purpose['name']}",
        "@type": DPV + "Process",
        "name": purpose["name"],
        "description": purpose["description"],
        DPV + "hasPurpose": {
            "@id": purpose["dpv"] or DPV + "Purpose",
            "@type": DPV + "Purpose",
            "description": purpose["description"],
        },
        DPV + "hasLegalBasis": [
            _ref(iri) for iri in LEGAL_BASIS_IRIS.get(purpose["legal_basis"] or "", ())
        ],
        DPV + "hasPersonalData": [
            _ref(dpv_of.get(key) or DPV + "PersonalData") for key in purpose["categories"]
        ],
        DPV + "hasDataSubject": [_ref(DPV + "Employee"), _ref(DPV + "DataSubject")],
        DPV + "hasRecipient": [
            _ref(RECIPIENT_IRIS.get(r, DPV + "ThirdParty")) for r in record["recipients"]
        ],
        DPV + "hasDataController": controller,
        DPV + "hasStorageCondition": [
            {
                "@type": DPV + "StorageDuration",
                "name": rule["kind"],
                DPV + "hasDuration": {"@value": rule["period"], "@type": "xsd:duration"},
            }
            for rule in record["retention"]
        ],
    }
    if processor is not None:
        node[DPV + "hasDataProcessor"] = processor
    return node


def ropa_jsonld(data: dict[str, Any]) -> dict[str, Any]:
    """The output of :func:`callvault.accountability.ropa.ropa` as one JSON-LD document (``@context`` + ``@graph``)."""
    graph: list[dict[str, Any]] = []
    operator_record = data.get("operator_record")
    if operator_record:
        controller = {
            "@id": "urn:callvault:operator",
            "@type": DPV + "DataController",
            "name": operator_record["controller"]["name"],
        }
        for purpose in operator_record["purposes"]:
            graph.append(
                _process("urn:callvault:ropa:operator", purpose, operator_record, controller, None)
            )
    for record in data["processor_records"]:
        tenant = record["controller"]["tenant"]
        controller = {
            "@id": f"urn:callvault:tenant:{tenant}",
            "@type": DPV + "DataController",
            "name": record["controller"]["name"],
        }
        processor = {
            "@id": "urn:callvault:operator",
            "@type": DPV + "DataProcessor",
            "name": record["processor"]["name"],
        }
        for purpose in record["purposes"]:
            graph.append(
                _process(f"urn:callvault:ropa:{tenant}", purpose, record, controller, processor)
            )
    return {
        "@context": CONTEXT,
        "@id": "urn:callvault:ropa",
        "dct:created": data["generated_at"],
        "dct:hasVersion": data["policy_version"],
        "@graph": graph,
    }
