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


# The privacy centre's rights pages (issue 15): appended, so other pages' keys merge cleanly.
WORDS["en"].update({
    "my_requests": "Your requests", "your_rights": "Your rights",
    "export_title": "A copy of your data", "export_button": "Download my data (zip)",
    "export_explained": "A zip with everything we hold about you, as our access answer (GDPR Art. 15). Downloading it is recorded as a completed access request.",
    "rectify_title": "Correct your data", "rectify_field": "What to correct",
    "rectify_value": "The correct value", "rectify_button": "Ask for the correction",
    "rectify_explained": "The administrator makes the correction (GDPR Art. 16); you can follow it under Your requests.",
    "field_name": "Name", "field_email": "E-mail address", "field_phone": "Telephone number",
    "bad_name": "The new name must be 1 to 200 printable characters.",
    "bad_email": "The new e-mail address is not valid.",
    "bad_phone": "The new telephone number is not valid.",
    "bad_field": "Choose what to correct: name, e-mail address or telephone number.",
    "erase_title": "Erase your data", "erase_button": "Ask for erasure",
    "erase_explained": "The administrator erases your data (GDPR Art. 17) unless the law requires keeping some of it; you will be told the outcome.",
    "request_received": "Your request is received. We answer by its due date.",
    "request_cancelled": "Your request is cancelled.",
    "cancel_request": "Cancel request", "extension_reason": "Reason",
    "due_explained": "We answer within one month of receipt; in complex cases by up to two further months, and then we tell you why (GDPR Art. 12(3)).",
    "limited_title": "Too many attempts",
    "limited": "Too many sign-in attempts from your connection. Wait an hour and try again.",
    "back_to_sign_in": "Back to sign-in",
    "no_code_delivery": "Sign-in by code is not available on this server. Contact the company to exercise your rights.",
})  # fmt: skip
WORDS["da"].update({
    "my_requests": "Dine anmodninger", "your_rights": "Dine rettigheder",
    "export_title": "En kopi af dine data", "export_button": "Hent mine data (zip)",
    "export_explained": "En zip-fil med alt, hvad vi har om dig, som vores svar på indsigt (GDPR art. 15). Hentningen registreres som en besvaret anmodning om indsigt.",
    "rectify_title": "Ret dine data", "rectify_field": "Hvad skal rettes",
    "rectify_value": "Den rigtige værdi", "rectify_button": "Bed om rettelsen",
    "rectify_explained": "Administratoren foretager rettelsen (GDPR art. 16); du kan følge den under Dine anmodninger.",
    "field_name": "Navn", "field_email": "E-mailadresse", "field_phone": "Telefonnummer",
    "bad_name": "Det nye navn skal være 1 til 200 skrivbare tegn.",
    "bad_email": "Den nye e-mailadresse er ikke gyldig.",
    "bad_phone": "Det nye telefonnummer er ikke gyldigt.",
    "bad_field": "Vælg hvad der skal rettes: navn, e-mailadresse eller telefonnummer.",
    "erase_title": "Slet dine data", "erase_button": "Bed om sletning",
    "erase_explained": "Administratoren sletter dine data (GDPR art. 17), medmindre loven kræver, at noget gemmes; du får besked om resultatet.",
    "request_received": "Din anmodning er modtaget. Vi svarer senest på fristen.",
    "request_cancelled": "Din anmodning er annulleret.",
    "cancel_request": "Annullér anmodning", "extension_reason": "Begrundelse",
    "due_explained": "Vi svarer inden for en måned efter modtagelsen; i komplicerede sager inden for op til to måneder mere, og så fortæller vi dig hvorfor (GDPR art. 12, stk. 3).",
    "limited_title": "For mange forsøg",
    "limited": "For mange forsøg på at logge ind fra din forbindelse. Vent en time, og prøv igen.",
    "back_to_sign_in": "Tilbage til log ind",
    "no_code_delivery": "Log ind med kode er ikke muligt på denne server. Kontakt virksomheden for at udøve dine rettigheder.",
})  # fmt: skip


# The admin console's request actions, support approvals, documents, charts and SSO sign-in.
WORDS["en"].update({
    "support": "Support sessions", "profile": "Collection profile", "records": "Record of processing",
    "notice": "Privacy notice", "not_found": "Not found", "forbidden": "Not allowed",
    "open": "Open", "request": "Request", "channel": "Channel",
    "verification": "Identity verification", "unverified": "not verified", "evidence": "Evidence",
    "extended": "Extended", "actions": "Actions", "start": "Mark in progress",
    "extend": "Extend the deadline", "months": "Further months (1 or 2)",
    "reason": "Reason (told to the subject)", "notice_at": "Date the subject was told",
    "complete": "Carry out and complete", "refuse": "Refuse", "cancel": "Cancel the request",
    "identity_checked": "I have verified the requester's identity", "field": "Field",
    "new_value": "New value", "purpose": "Purpose", "not_done": "Not done: {message}",
    "done_start": "Marked in progress.", "done_extend": "The deadline is extended.",
    "done_refuse": "The request is refused.", "done_cancel": "The request is cancelled.",
    "done_complete": "The request is carried out and completed.",
    "ticket": "Ticket", "engineer": "Engineer", "asked": "Asked",
    "subjects_count": "People in the ticket", "approve": "Approve", "deny": "Deny",
    "hours": "Hours", "deny_reason": "Reason for the denial",
    "no_pending": "No support sessions await approval.",
    "approved": "The session is approved and open.", "denied": "The request is denied.",
    "collects": "Categories collected", "agreement": "Service and support agreement",
    "no_agreement": "No agreement.", "valid_from": "From", "valid_to": "To",
    "counts": "Records held", "name": "Name", "country": "Country",
    "sso": "Sign in with single sign-on", "or": "or",
    "calls_by_outcome": "Calls per day by outcome: {direction}",
    "chart_desc": "{total} calls over {days} days, stacked by {by}.",
    "request_of": "{type}: request received {received}",
    "export_note": "The subject downloads this export in the privacy centre; that completes the "
                   "request.",
    "type_access": "Access", "type_portability": "Data portability", "type_erasure": "Erasure",
    "type_rectification": "Rectification", "type_restriction": "Restriction",
    "type_objection": "Objection", "state_pending": "pending", "state_in_progress": "in progress",
    "state_completed": "completed", "state_refused": "refused", "state_cancelled": "cancelled",
    "value_inbound": "inbound", "value_outbound": "outbound", "value_internal": "internal",
    "value_answered": "answered", "value_no_answer": "no answer", "value_busy": "busy",
    "value_failed": "failed",
})  # fmt: skip
WORDS["da"].update({
    "support": "Supportsessioner", "profile": "Indsamlingsprofil",
    "records": "Fortegnelse over behandlinger", "notice": "Privatlivsmeddelelse",
    "not_found": "Ikke fundet", "forbidden": "Ikke tilladt", "open": "Åbn", "request": "Anmodning",
    "channel": "Kanal", "verification": "Identitetskontrol", "unverified": "ikke kontrolleret",
    "evidence": "Dokumentation", "extended": "Forlænget", "actions": "Handlinger",
    "start": "Markér som i gang", "extend": "Forlæng fristen", "months": "Yderligere måneder (1 eller 2)",
    "reason": "Begrundelse (meddeles den registrerede)",
    "notice_at": "Dato for meddelelsen til den registrerede", "complete": "Udfør og afslut",
    "refuse": "Afvis", "cancel": "Annullér anmodningen",
    "identity_checked": "Jeg har kontrolleret anmoderens identitet", "field": "Felt",
    "new_value": "Ny værdi", "purpose": "Formål", "not_done": "Ikke udført: {message}",
    "done_start": "Markeret som i gang.", "done_extend": "Fristen er forlænget.",
    "done_refuse": "Anmodningen er afvist.", "done_cancel": "Anmodningen er annulleret.",
    "done_complete": "Anmodningen er udført og afsluttet.",
    "ticket": "Sag", "engineer": "Supporttekniker", "asked": "Anmodet",
    "subjects_count": "Personer i sagen", "approve": "Godkend", "deny": "Afvis",
    "hours": "Timer", "deny_reason": "Begrundelse for afvisningen",
    "no_pending": "Ingen supportsessioner venter på godkendelse.",
    "approved": "Sessionen er godkendt og åben.", "denied": "Anmodningen er afvist.",
    "collects": "Indsamlede kategorier", "agreement": "Service- og supportaftale",
    "no_agreement": "Ingen aftale.", "valid_from": "Fra", "valid_to": "Til",
    "counts": "Poster opbevaret", "name": "Navn", "country": "Land",
    "sso": "Log ind med single sign-on", "or": "eller",
    "calls_by_outcome": "Opkald pr. dag efter udfald: {direction}",
    "chart_desc": "{total} opkald over {days} dage, stablet efter {by}.",
    "request_of": "{type}: anmodning modtaget {received}",
    "export_note": "Den registrerede henter dette udtræk i privatlivscentret; så er anmodningen "
                   "afsluttet.",
    "type_access": "Indsigt", "type_portability": "Dataportabilitet", "type_erasure": "Sletning",
    "type_rectification": "Berigtigelse", "type_restriction": "Begrænsning",
    "type_objection": "Indsigelse", "state_pending": "afventer", "state_in_progress": "i gang",
    "state_completed": "afsluttet", "state_refused": "afvist", "state_cancelled": "annulleret",
    "value_inbound": "indgående", "value_outbound": "udgående", "value_internal": "intern",
    "value_answered": "besvaret", "value_no_answer": "ikke besvaret", "value_busy": "optaget",
    "value_failed": "fejlet",
})  # fmt: skip
