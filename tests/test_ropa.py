"""Art. 30 records: per tenant and for the operator, with live figures; JSON-LD in W3C DPV terms."""

import dataclasses
import json

from callvault import (
    CompiledPolicy,
    default_policy,
    records_as_jsonld,
    records_of_processing,
)
from callvault.store.audit_chain import OPERATOR, AuditEntry
from clihelp import run_cli
from factories import make_call, make_external, make_tenant, make_user

DPV = "https://w3id.org/dpv#"


def test_ropa_json_has_both_records_and_live_figures(vault, cli_env, capsys):
    make_tenant(vault, collect=["name", "phone", "call_history"])
    alice = make_user(vault)
    make_call(vault, caller_id=make_external(vault), callee_id=alice)
    data = run_cli(capsys, "ropa", "--format", "json").json()
    assert data["operator_record"]["article"] == "Art. 30(1)"
    [record] = data["processor_records"]
    assert record["article"] == "Art. 30(2)" and record["controller"]["tenant"] == "acme"
    assert record["records_held"]["calls"] == 1 and record["records_held"]["subjects"] == 2
    held = {c["key"]: c["records_held"] for c in record["categories"]}
    assert held["user.behavior.call_history"] == 1
    assert "user.content.private.voicemail" not in held
    assert record["last_retention_run"] is None
    with vault.transaction() as conn:
        vault.audit(conn, OPERATOR, AuditEntry(actor="operator", action="retention.run"))
    again = run_cli(capsys, "ropa", "--tenant", "acme").json()
    assert again["operator_record"] is None
    assert again["processor_records"][0]["last_retention_run"] is not None


def test_ropa_jsonld_parses_and_uses_dpv_iris(vault, cli_env, capsys):
    make_tenant(vault)
    result = run_cli(capsys, "ropa", "--format", "jsonld")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["@context"]["dpv"] == DPV
    processes = document["@graph"]
    bases = {b["@id"] for p in processes for b in p[DPV + "hasLegalBasis"]}
    assert {
        DPV + "Consent",
        DPV + "Contract",
        DPV + "LegitimateInterest",
        DPV + "LegalObligation",
    } <= bases
    data = {d["@id"] for p in processes for d in p[DPV + "hasPersonalData"]}
    assert "https://w3id.org/dpv/pd#TelephoneNumber" in data
    purposes = {p[DPV + "hasPurpose"]["@id"] for p in processes}
    assert DPV + "ServicePersonalisation" in purposes


def test_ropa_markdown_and_unknown_tenant(vault, cli_env, capsys):
    make_tenant(vault)
    md = run_cli(capsys, "ropa", "--format", "md")
    assert md.code == 0 and "Art. 30(2)" in md.out and "Art. 30(1)" in md.out
    assert run_cli(capsys, "ropa", "--tenant", "nope").code == 4


def test_ropa_and_notice_write_files(vault, cli_env, capsys):
    make_tenant(vault)
    assert run_cli(capsys, "ropa", "--format", "jsonld", "--out", "ropa.jsonld").code == 0
    assert json.loads((cli_env / "ropa.jsonld").read_text())["@graph"]
    assert run_cli(capsys, "policy", "render", "--format", "html", "--out", "n.html").code == 0
    assert "Datatilsynet" in (cli_env / "n.html").read_text()


def test_ropa_jsonld_names_the_sub_processors(vault):
    """Art. 28(2), 30(2)(d): the sub-processors of the plain record are in the JSON-LD one too."""
    policy = default_policy()
    abroad = policy.sub_processors[0].model_copy(update={
        "name": "Far Away Mail Inc", "country": "US", "service": "e-mail delivery",
        "safeguard": "SCC 2021/914 module 3"})  # fmt: skip
    unguarded = abroad.model_copy(update={"name": "Bare Backup Ltd", "country": "IE",
                                          "service": "off-site backup", "safeguard": None})  # fmt: skip
    policy = policy.model_copy(
        update={"sub_processors": [*policy.sub_processors, abroad, unguarded]}
    )
    bound = dataclasses.replace(vault, policy=CompiledPolicy.compile(policy))
    make_tenant(vault)
    plain = records_of_processing(bound, "acme")
    document = records_as_jsonld(plain)
    processes = document["@graph"]
    assert {n["@type"] for n in processes} == {DPV + "Process"}
    tenant_processes = [p for p in processes if p["@id"].startswith("urn:callvault:ropa:acme/")]
    assert tenant_processes
    subs = {n["name"]: n for n in tenant_processes[0][DPV + "hasDataProcessor"][1:]}
    assert all(DPV + "DataSubProcessor" in n["@type"] for n in subs.values())
    assert [(s["name"], s["country"], s["service"], s["safeguard"])
            for s in plain["processor_records"][0]["sub_processors"]] == [
        ("Nordic Hosting ApS", "DK", "hosting of the vault", "DPA 2026-03"),
        ("Far Away Mail Inc", "US", "e-mail delivery", "SCC 2021/914 module 3"),
        ("Bare Backup Ltd", "IE", "off-site backup", None),
    ]  # fmt: skip
    assert set(subs) == {"Nordic Hosting ApS", "Far Away Mail Inc", "Bare Backup Ltd"}
    nordic, far, bare = (subs[n] for n in ("Nordic Hosting ApS", "Far Away Mail Inc",
                                            "Bare Backup Ltd"))  # fmt: skip
    assert nordic[DPV + "hasCountry"] == {"@id": "https://w3id.org/dpv/loc#DK"}
    assert nordic["description"] == "hosting of the vault"
    assert nordic[DPV + "hasTechnicalOrganisationalMeasure"] == {
        "@type": DPV + "Safeguard", "name": "DPA 2026-03"}  # fmt: skip
    assert far[DPV + "hasTechnicalOrganisationalMeasure"] == {
        "@type": DPV + "SafeguardForDataTransfer", "name": "SCC 2021/914 module 3"}  # fmt: skip
    assert far[DPV + "hasCountry"] == {"@id": "https://w3id.org/dpv/loc#US"}
    assert DPV + "hasTechnicalOrganisationalMeasure" not in bare
    for process in tenant_processes:  # every Art. 30(2) process: the operator and all three
        named = [p["@id"] for p in process[DPV + "hasDataProcessor"]]
        assert named == ["urn:callvault:operator", *(subs[n]["@id"] for n in (
            "Nordic Hosting ApS", "Far Away Mail Inc", "Bare Backup Ltd"))]  # fmt: skip
    json.loads(json.dumps(document))  # plain JSON all through


def test_ropa_jsonld_without_sub_processors_names_only_the_operator(vault):
    policy = default_policy().model_copy(update={"sub_processors": []})
    bound = dataclasses.replace(vault, policy=CompiledPolicy.compile(policy))
    make_tenant(vault)
    document = records_as_jsonld(records_of_processing(bound, "acme"))
    for process in document["@graph"]:
        assert [p["@id"] for p in process[DPV + "hasDataProcessor"]] == ["urn:callvault:operator"]
