"""The pages' words in English and Danish; the language is chosen with ``?lang=`` and kept in a
cookie (it names no one, so it is not a session)."""

from __future__ import annotations

from typing import Any

LANGUAGES = ("en", "da")
COOKIE = "cv_lang"

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "admin": "Admin console", "privacy": "Privacy centre", "sign_in": "Sign in",
        "sign_out": "Sign out", "token": "Tenant admin token", "token_refused": "The token was not accepted.",
        "requests": "Requests", "retention": "Retention", "audit": "Audit log", "statistics": "Statistics",
        "type": "Type", "state": "State", "received": "Received", "due": "Due", "overdue": "Overdue",
        "no_requests": "No requests.", "kind": "Kind", "period": "Period", "last_run": "Last run",
        "never": "never", "audit_ok": "The audit log verifies: {checked} entries in {chains} chains.",
        "audit_bad": "The audit log does NOT verify: {problem}.", "calls_per_day": "Calls per day (last 30 days)",
        "day": "Day", "direction": "Direction", "outcome": "Outcome", "calls": "Calls",
        "suppressed": "Cells withheld for anonymity (fewer than {k} people): {n}.",
        "address": "Your e-mail address", "send_code": "Send me a code",
        "code_sent": "If we hold this address, a sign-in code is on its way. It is valid for 10 minutes.",
        "code": "Sign-in code", "code_wrong": "The code is wrong or has expired.",
        "held": "What we hold about you", "category": "Category", "purposes": "Purposes",
        "basis": "Legal basis", "keep": "Kept for", "recipients": "Recipients",
        "consents": "Your consents", "given": "given", "not_given": "not given",
        "give": "Give consent", "withdraw": "Withdraw consent", "saved": "Saved. Receipt: {receipt}.",
        "language": "Language", "nav": "Sections", "overdue_count": "Overdue records",
    },
    "da": {
        "admin": "Administration", "privacy": "Privatlivscenter", "sign_in": "Log ind",
        "sign_out": "Log ud", "token": "Token for lejerens administrator", "token_refused": "Tokenet blev ikke godkendt.",
        "requests": "Anmodninger", "retention": "Opbevaring", "audit": "Revisionslog", "statistics": "Statistik",
        "type": "Type", "state": "Status", "received": "Modtaget", "due": "Frist", "overdue": "Overskredet",
        "no_requests": "Ingen anmodninger.", "kind": "Art", "period": "Periode", "last_run": "Seneste kørsel",
        "never": "aldrig", "audit_ok": "Revisionsloggen er i orden: {checked} poster i {chains} kæder.",
        "audit_bad": "Revisionsloggen er IKKE i orden: {problem}.", "calls_per_day": "Opkald pr. dag (seneste 30 dage)",
        "day": "Dag", "direction": "Retning", "outcome": "Udfald", "calls": "Opkald",
        "suppressed": "Celler tilbageholdt af hensyn til anonymitet (færre end {k} personer): {n}.",
        "address": "Din e-mailadresse", "send_code": "Send mig en kode",
        "code_sent": "Hvis vi har denne adresse, er en kode på vej. Den gælder i 10 minutter.",
        "code": "Kode", "code_wrong": "Koden er forkert eller udløbet.",
        "held": "Det har vi om dig", "category": "Kategori", "purposes": "Formål",
        "basis": "Retsgrundlag", "keep": "Opbevares i", "recipients": "Modtagere",
        "consents": "Dine samtykker", "given": "givet", "not_given": "ikke givet",
        "give": "Giv samtykke", "withdraw": "Træk samtykke tilbage", "saved": "Gemt. Kvittering: {receipt}.",
        "language": "Sprog", "nav": "Afsnit", "overdue_count": "Forfaldne poster",
    },
}  # fmt: skip

MAIL = {
    "en": (
        "Your sign-in code",
        "Your privacy centre sign-in code is {code}. It is valid for 10 minutes.",
    ),
    "da": ("Din kode", "Din kode til privatlivscentret er {code}. Den gælder i 10 minutter."),
}


def language(request: Any) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(COOKIE) or "en"
    return wanted if wanted in LANGUAGES else "en"
