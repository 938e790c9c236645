"""The policy linter: each finding fires on a policy made to trigger it, and none on the default."""

from pathlib import Path

import pytest
import yaml

from callvault.policy import default_policy
from callvault.policy.lint import lint, lint_text
from callvault.policy.loader import default_policy_text

EXAMPLE = Path(__file__).parent.parent / "examples" / "policy-as-published.yaml"


def _doc() -> dict:
    return yaml.safe_load(default_policy_text())


def _flawed(change) -> str:
    doc = _doc()
    change(doc)
    return yaml.safe_dump(doc)


def _set(path: str, value):
    def change(doc):
        *parents, last = path.split("/")
        node = doc
        for part in parents:
            node = node[part]
        node[last] = value

    return change


def _pop(path: str):
    def change(doc):
        *parents, last = path.split("/")
        node = doc
        for part in parents:
            node = node[part]
        del node[last]

    return change


FLAWS = {
    "consent-implied-by-use": _set("consent/implied_by_use", True),
    "basis-not-in-art-6": _set("purposes/error_diagnosis/legal_basis", "diagnostics"),
    "basis-missing": _set("purposes/customer_service/legal_basis", None),
    "legitimate-interest-without-assessment": _pop(
        "purposes/customer_service/legitimate_interest_assessment"
    ),
    "legal-obligation-unnamed": _pop("purposes/bookkeeping/legal_obligation"),
    "consent-from-employees": _pop("consent/no_detriment"),
    "purpose-without-categories": _set("purposes/customer_service/categories", []),
    "category-unused": _set("categories/user.unique_id.pseudonymous", {"identifying": "quasi"}),
    "category-undeclared": _set("purposes/customer_service/categories", ["user.financial"]),
    "category-without-retention": _pop("retention/voicemail"),
    "category-without-record-kind": _set(
        "categories/user.device.ip_address", {"identifying": "direct"}
    ),
    "anonymisation-keeps-identifier": _set(
        "retention/call_record/keeps", ["hour_bucket", "caller_number", "extension"]
    ),
    "recipient-third-party": _set("recipients", ["subject", "controller", "marketing-partner"]),
    "retention-beyond-legal-maximum": _set("retention/billing_record/keep_for", "P10Y"),
}


def test_default_policy_has_no_finding():
    assert lint(default_policy()).findings == []


@pytest.mark.parametrize("code", sorted(FLAWS))
def test_each_finding_fires_on_its_flaw(code):
    report = lint_text(_flawed(FLAWS[code]))
    codes = {f.code for f in report.findings}
    assert code in codes
    finding = next(f for f in report.findings if f.code == code)
    assert finding.article.startswith("Art.") and finding.message


def test_published_policy_reports_its_real_flaws():
    report = lint_text(EXAMPLE.read_text(), source=str(EXAMPLE))
    codes = [f.code for f in report.findings]
    assert "consent-implied-by-use" in codes
    assert "basis-not-in-art-6" in codes
    assert "basis-missing" in codes
    assert "consent-from-employees" in codes
    assert codes.count("category-without-retention") == 5
    assert not report.ok
    assert "contract" in next(f.message for f in report.findings if f.code == "basis-not-in-art-6")
