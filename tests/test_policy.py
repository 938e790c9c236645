import pytest

from callvault.errors import InvalidInput, PolicyInvalid
from callvault.policy import CompiledPolicy, default_policy, parse_policy
from callvault.policy.loader import default_policy_text
from callvault.policy.periods import Period


def test_default_policy_compiles_with_the_published_purposes():
    compiled = CompiledPolicy.compile(default_policy())
    assert {"personalisation", "error_diagnosis", "customer_service"} <= set(compiled.purposes)
    assert compiled.purposes["error_diagnosis"].legal_basis == "contract"
    assert compiled.recipients == {"subject", "controller"}


def test_bad_value_is_named_by_path_and_value():
    text = default_policy_text().replace("role: processor", "role: landlord")
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy(text)
    assert "operator.role" in str(caught.value)
    assert "landlord" in str(caught.value)


def test_unknown_key_is_refused():
    text = default_policy_text().replace("k_anonymity: 5", "k_anonymity: 5\nsell_data: true")
    with pytest.raises(PolicyInvalid, match="sell_data"):
        parse_policy(text)


def test_purpose_using_undeclared_category_is_refused():
    text = default_policy_text().replace(
        "categories: [user.behavior.call_history]\n    output",
        "categories: [user.biometric]\n    output",
    )
    with pytest.raises(
        PolicyInvalid, match=r"purposes.customer_service.categories.0.*user.biometric"
    ):
        parse_policy(text)


def test_invalid_yaml_names_the_line():
    with pytest.raises(PolicyInvalid) as caught:
        parse_policy("version: 1\noperator: [unclosed\n")
    assert caught.value.line is not None


def test_basis_outside_article_6_cannot_be_compiled():
    text = default_policy_text().replace("legal_basis: contract", "legal_basis: diagnostics")
    with pytest.raises(PolicyInvalid, match="diagnostics"):
        CompiledPolicy.compile(parse_policy(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("P90D", Period(days=90)), ("P5Y", Period(years=5)), ("P1M2D", Period(0, 1, 2))],
)
def test_periods_parse_exactly(text, expected):
    assert Period.parse(text) == expected
    assert str(Period.parse(text)) == text


def test_periods_compare_by_calendar():
    assert Period.parse("P30D") < Period.parse("P90D")
    assert Period.parse("P12M") <= Period.parse("P1Y")
    assert Period.parse("P2Y") <= Period.parse("P5Y")
    assert not Period.parse("P6Y") <= Period.parse("P5Y")


def test_tenant_may_only_shorten_retention():
    compiled = CompiledPolicy.compile(default_policy())
    assert str(compiled.check_retention_override("call_record", "P30D")) == "P30D"
    with pytest.raises(InvalidInput, match="longer than the policy's P90D"):
        compiled.check_retention_override("call_record", "P91D")
    with pytest.raises(InvalidInput, match="legal obligation"):
        compiled.check_retention_override("billing_record", "P1Y")
    with pytest.raises(InvalidInput, match="unknown kind"):
        compiled.check_retention_override("browsing", "P1D")
