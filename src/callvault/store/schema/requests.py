"""Data subject requests (GDPR Arts. 15-21) as records.

A ``subject_requests`` row is one request: its type, who asked and through which channel, when it was
received, how the requester's identity was verified, the due date (one month, Art. 12(3)) and an
optional extension (at most two more months, with its reason and the date the subject was told), its
state, and its outcome with evidence (counts, categories, laws: never an identifier's value). Its shape
maps onto an OpenDSR request: ``request_id`` = ``subject_request_id`` (a UUID), ``type`` =
``subject_request_type``, ``received_at`` = ``submitted_time``, ``callbacks`` =
``status_callback_urls``, ``state`` = ``request_status``.

A request names the subject by surrogate id only and has no foreign key to ``subjects``: the record of
an erasure outlives the erased subject (Art. 5(2) accountability).
Erasure tombstones live in the key store (crypto/keystore.py), not here: a restored backup of this
database must not bring back the record of what it has to erase again.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKeyConstraint, Index, String, Table, Text

from callvault.store.schema.core import ID, TENANT_ID, UTCDateTime, metadata

REQUEST_ID = 36  # a UUID in its canonical text form (OpenDSR's subject_request_id)

subject_requests = Table(
    "subject_requests",
    metadata,
    Column("tenant_id", String(TENANT_ID), primary_key=True),
    Column("request_id", String(REQUEST_ID), primary_key=True),
    # access, portability, erasure, rectification, restriction, objection
    Column("type", String(16), nullable=False),
    Column("subject_id", String(ID)),  # surrogate id; NULL when no subject was found
    Column("requested_by", String(200), nullable=False),  # an actor role, never an identifier
    Column("channel", String(32), nullable=False),  # cli, api, privacy_centre, opendsr
    Column("received_at", UTCDateTime, nullable=False),
    Column("verification_method", String(32)),  # operator, one_time_code, subject_token, ...
    Column("verified_at", UTCDateTime),
    Column("verified_by", String(200)),
    Column("due_at", UTCDateTime, nullable=False),  # received_at + P1M (Art. 12(3))
    Column("extended_due_at", UTCDateTime),  # at most two more months (Art. 12(3))
    Column("extension_reason", Text),
    Column("extension_notice_at", UTCDateTime),
    Column(
        "state", String(16), nullable=False
    ),  # pending, in_progress, completed, refused, cancelled
    Column("state_at", UTCDateTime, nullable=False),
    Column("outcome", Text),
    Column("evidence", JSON, nullable=False),
    Column("callbacks", JSON, nullable=False),  # OpenDSR status_callback_urls (the controller's)
    ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    Index("ix_requests_subject", "tenant_id", "subject_id"),
    Index("ix_requests_state", "tenant_id", "state", "due_at"),
)
