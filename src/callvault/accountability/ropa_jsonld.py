"""The Art. 30 records as JSON-LD, in the W3C Data Privacy Vocabulary (DPV).

Purposes, legal bases, personal data categories, controllers, processors and recipients are DPV
concepts named by their IRIs (``https://w3id.org/dpv#...``, ``https://w3id.org/dpv/pd#...``), with
the GDPR article of each legal basis from DPV's EU-GDPR extension
(``https://w3id.org/dpv/legal/eu/gdpr#A6-1-a`` ...), so that other tools can read the records.

The policy's sub-processors (Art. 28(2), 30(2)(d)) are ``dpv:DataSubProcessor`` nodes, each with its country (a DPV-LOC IRI, ``https://w3id.org/dpv/loc#DK``), the service it performs and,
when it has one, its safeguard (``dpv:Safeguard``; outside the EU/EEA the Art. 46 safeguard of the
transfer, ``dpv:SafeguardForDataTransfer``); every Art. 30(2) process names them beside the operator
with ``dpv:hasDataProcessor`` (embedded, with a stable ``@id``: ``@graph`` holds only processes), as
the plain record, the notice and the access export name them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from callvault.policy.lint import EEA
from callvault.policy.taxonomy import DPV, DPV_PD

EU_GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
DPV_LOC = "https://w3id.org/dpv/loc#"

CONTEXT: dict[str, Any] = {
    "dpv": DPV,
    "pd": DPV_PD,
    "eu-gdpr": EU_GDPR,
    "loc": DPV_LOC,
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


def sub_processor_id(sub: dict[str, Any]) -> str:
    """The sub-processor's node id: its name, lower-cased, spaces as dashes (stable across runs)."""
    slug = "-".join(sub["name"].lower().split())
    return f"urn:callvault:sub-processor:{quote(slug, safe='-.')}"


def sub_processor_node(sub: dict[str, Any]) -> dict[str, Any]:
    """One sub-processor (a processor the operator engages, Art. 28(2)) as a DPV node."""
    node: dict[str, Any] = {
        "@id": sub_processor_id(sub),
        "@type": [DPV + "DataSubProcessor", DPV + "DataProcessor"],
        "name": sub["name"],
        "description": sub["service"],
        DPV + "hasCountry": _ref(DPV_LOC + sub["country"].upper()),
    }
    if sub.get("safeguard"):
        abroad = sub["country"].upper() not in EEA
        node[DPV + "hasTechnicalOrganisationalMeasure"] = {
            "@type": DPV + ("SafeguardForDataTransfer" if abroad else "Safeguard"),
            "name": sub["safeguard"],
        }
    return node


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
        subs = [sub_processor_node(sub) for sub in record.get("sub_processors", [])]
        node[DPV + "hasDataProcessor"] = [processor, *subs]
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
