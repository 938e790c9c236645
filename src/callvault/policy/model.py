"""The policy document's shape (DESIGN, "The policy document").

The models accept what an operator may write, including lawful-looking mistakes (a legal basis that is
not in Art. 6(1), consent implied by use): catching those is the linter's job, so that ``policy check``
can report every finding at once. Structural mistakes (a wrong type, an unknown key, a purpose using a
category the document never declares) are rejected here, with the path of the bad value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from callvault.policy.periods import Period, PeriodField
from callvault.policy.taxonomy import Identifying

# GDPR Art. 6(1)(a)-(f).
LEGAL_BASES = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interest",
    "public_task",
    "legitimate_interest",
)

RECORD_KINDS = ("call_record", "voicemail", "subject_profile", "billing_record")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OperatorSpec(_Strict):
    name: str
    country: str = "DK"
    role: Literal["processor", "controller"] = "processor"
    contact: str | None = None
    supervisory_authority: str = (
        "Datatilsynet (the Danish Data Protection Agency), www.datatilsynet.dk"
    )


# How a purpose reaches data (``access``) and what it may receive (``output``): the vocabulary code
# asks the compiled policy about, instead of naming purposes (purposes are data).
DIRECT = "direct"
SUPPORT_SESSION = "support_session"
RECORDS = "records"
STATISTICS = "anonymous_statistics"
BILLING = "billing_records"


class CategorySpec(_Strict):
    identifying: Identifying
    dpv: str | None = None


class PurposeSpec(_Strict):
    text: str
    dpv: str | None = None
    legal_basis: str | None = None
    categories: list[str] = Field(default_factory=list)
    # Categories turned into keyed tokens before they leave the gate (Art. 4(5), Art. 25).
    pseudonymise: list[str] = Field(default_factory=list)
    # support_session: readable only inside a time-boxed support session tied to a ticket.
    access: Literal["direct", "support_session"] = "direct"
    # records: a subject's event-level data; anonymous_statistics: aggregates only (callvault stats);
    # billing_records: only the billing subset kept under a legal hold (callvault.processing.billing).
    output: Literal["records", "anonymous_statistics", "billing_records"] = "records"
    # Art. 6(1)(f) needs a documented balancing test; Art. 6(1)(c) a named law.
    legitimate_interest_assessment: str | None = None
    legal_obligation: str | None = None


class RetentionRule(_Strict):
    identifiable_for: PeriodField | None = None
    keep_for: PeriodField | None = None
    then: Literal["anonymise", "delete"]
    after: Literal["created", "offboarded"] = "created"
    legal_obligation: str | None = None
    # The longest period a law allows for this kind (Art. 5(1)(e)); the linter compares against it.
    legal_maximum: PeriodField | None = None
    # What an anonymised record keeps; the linter refuses any identifying field here.
    keeps: list[str] = Field(default_factory=list)

    @property
    def period(self) -> Period | None:
        """How long a record of this kind stays identifiable (keep_for for legal holds)."""
        return self.keep_for if self.keep_for is not None else self.identifiable_for


class SubProcessorSpec(_Strict):
    """A processor the operator engages (Art. 28(2), (4)): named in the notice (Art. 13(1)(e)), the
    Art. 30 record and every access export (Art. 15(1)(c)). ``safeguard`` is the data processing
    agreement, and for a country outside the EU/EEA the Art. 46 transfer safeguard."""

    name: str
    country: str  # ISO 3166-1 alpha-2
    service: str
    safeguard: str | None = None


class ConsentSpec(_Strict):
    # "By using our software ... you give your consent": not consent (Art. 4(11), Art. 7).
    implied_by_use: bool = False
    # Who the data subjects are; consent of employees is rarely free (WP29 Opinion 2/2017).
    subjects_are_employees: bool = True
    # Why refusing or withdrawing costs an employee nothing (Art. 7(4), Recital 43); without it the
    # linter warns that employees' consent is rarely free.
    no_detriment: str | None = None
    # How long a given consent lasts before it must be asked again (None: until withdrawn).
    valid_for: PeriodField | None = None


class Policy(_Strict):
    version: str
    operator: OperatorSpec
    categories: dict[str, CategorySpec]
    purposes: dict[str, PurposeSpec]
    recipients: list[str]
    sub_processors: list[SubProcessorSpec] = Field(default_factory=list)
    retention: dict[str, RetentionRule]
    consent: ConsentSpec = Field(default_factory=ConsentSpec)
    # Statistics cells with fewer members than this are suppressed (k-anonymity).
    k_anonymity: int = Field(default=5, ge=2)
