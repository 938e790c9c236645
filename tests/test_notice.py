"""The privacy notice is generated from the policy: it names every purpose, category and retention."""

from pathlib import Path

from callvault.accountability.notice import human_period, render_notice
from callvault.policy import CompiledPolicy, default_policy
from callvault.policy.taxonomy import KNOWN_CATEGORIES
from clihelp import run_cli
from factories import make_tenant

EXAMPLE = Path(__file__).parent.parent / "examples" / "policy-as-published.yaml"


def test_notice_names_every_purpose_category_and_retention():
    compiled = CompiledPolicy.compile(default_policy())
    for fmt in ("md", "html"):
        text = render_notice(compiled, None, fmt)
        for name, spec in compiled.policy.purposes.items():
            assert spec.text in text, (fmt, name)
            assert spec.legal_basis in text
        for key in compiled.policy.categories:
            assert key in text and KNOWN_CATEGORIES[key].label in text
        for kind, rule in compiled.retention.items():
            assert kind in text and str(rule.period) in text
            assert human_period(rule.period) in text
        assert "Datatilsynet" in text and "Art. 77" in text
        assert "Art. 15" in text and "Art. 17" in text and "callvault dsr" in text


def test_tenant_notice_shows_only_its_categories_and_retention(vault, cli_env, capsys):
    make_tenant(vault, collect=["name", "call_history"], retention={"call_record": "P30D"})
    result = run_cli(capsys, "policy", "render", "--tenant", "acme")
    assert result.code == 0, result.err
    assert "Acme ApS" in result.out and "Example Telephony A/S" in result.out
    assert "user.behavior.call_history" in result.out
    assert "user.content.private.voicemail" not in result.out
    assert "`voicemail`" not in result.out
    assert "30 days (P30D)" in result.out and "P90D" not in result.out


def test_render_html_escapes_and_cli_check_exit_codes(vault, cli_env, capsys):
    html = run_cli(capsys, "policy", "render", "--format", "html")
    assert html.code == 0 and html.out.startswith("<!doctype html>")
    assert "&lt;you&gt;" in html.out
    assert run_cli(capsys, "policy", "check").code == 0
    published = run_cli(capsys, "policy", "check", str(EXAMPLE), "--json")
    assert published.code == 5
    assert published.json()["errors"] >= 4
    assert run_cli(capsys, "policy", "render", "--format", "pdf").code == 2
