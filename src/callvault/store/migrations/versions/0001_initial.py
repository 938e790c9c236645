"""The vault's schema: tenants, keys, subjects, calls, voicemail, audit, statistics, consent,
restrictions, retention and billing, support sessions and voicemail key shares.

Revision ID: 0001
Revises: (none)

Squashed before the first release from the former branches 0001, 0002_statistics and the five
0003_* revisions (the DDL is theirs, unchanged), so that the history is one line. Every later schema
change is a new revision on top of this one.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 32
TENANT = 64


def _tenant_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"])


def _subject_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "subject_id"],
        ["subjects.tenant_id", "subjects.subject_id"],
        ondelete="CASCADE",
    )


def upgrade() -> None:
    # --- vault ---
    op.create_table(
        "tenants",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("collect", sa.JSON, nullable=False),
        sa.Column("agreement_id", sa.String(100)),
        sa.Column("agreement_from", sa.DateTime),
        sa.Column("agreement_to", sa.DateTime),
        sa.Column("retention", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "tenant_keys",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("purpose", sa.String(32), primary_key=True),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _tenant_fk(),
    )
    op.create_table(
        "subjects",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("subject_id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("offboarded_at", sa.DateTime),
        _tenant_fk(),
    )
    op.create_table(
        "subject_identifiers",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("subject_id", sa.String(ID), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("slot", sa.Integer, primary_key=True),
        sa.Column("blind_index", sa.LargeBinary(16)),
        sa.Column("ciphertext", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_identifier_lookup", "subject_identifiers", ["tenant_id", "blind_index"], unique=True
    )
    op.create_table(
        "calls",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("call_id", sa.String(ID), primary_key=True),
        sa.Column("source_key", sa.LargeBinary(16), nullable=False),
        sa.Column("linked_key", sa.LargeBinary(16)),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("answered_at", sa.DateTime),
        sa.Column("ended_at", sa.DateTime),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("billsec_s", sa.Integer, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(12), nullable=False),
        sa.Column("caller_subject_id", sa.String(ID)),
        sa.Column("callee_subject_id", sa.String(ID)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _tenant_fk(),
    )
    op.create_index("ux_calls_source", "calls", ["tenant_id", "source_key"], unique=True)
    op.create_index("ix_calls_started", "calls", ["tenant_id", "started_at"])
    op.create_index("ix_calls_caller", "calls", ["tenant_id", "caller_subject_id"])
    op.create_index("ix_calls_callee", "calls", ["tenant_id", "callee_subject_id"])
    op.create_table(
        "voicemails",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("voicemail_id", sa.String(ID), primary_key=True),
        sa.Column("source_key", sa.LargeBinary(16), nullable=False),
        sa.Column("mailbox_subject_id", sa.String(ID), nullable=False),
        sa.Column("caller_subject_id", sa.String(ID)),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("folder", sa.String(32), nullable=False),
        sa.Column("audio_format", sa.String(8), nullable=False),
        sa.Column("audio", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        _tenant_fk(),
    )
    op.create_index("ux_voicemails_source", "voicemails", ["tenant_id", "source_key"], unique=True)
    op.create_index("ix_voicemails_received", "voicemails", ["tenant_id", "received_at"])
    op.create_index("ix_voicemails_mailbox", "voicemails", ["tenant_id", "mailbox_subject_id"])
    op.create_index("ix_voicemails_caller", "voicemails", ["tenant_id", "caller_subject_id"])
    op.create_table(
        "audit_log",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("purpose", sa.String(64)),
        sa.Column("legal_basis", sa.String(32)),
        sa.Column("subject_id", sa.String(ID)),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    # --- statistics ---
    op.create_table(
        "call_statistics",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("bucket_start", sa.DateTime, primary_key=True),
        sa.Column("direction", sa.String(8), primary_key=True),
        sa.Column("outcome", sa.String(12), primary_key=True),
        sa.Column("calls", sa.Integer, nullable=False),
        sa.Column("subjects", sa.Integer, nullable=False),
        sa.Column("duration_s", sa.Integer, nullable=False),
        sa.Column("billsec_s", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    # --- consent ---
    op.create_table(
        "consent_records",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("record_id", sa.String(ID), primary_key=True),
        sa.Column("subject_id", sa.String(ID), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.Column("notice_hash", sa.String(64), nullable=False),
        sa.Column("purpose_fingerprint", sa.String(64), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("state_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index(
        "ix_consent_subject",
        "consent_records",
        ["tenant_id", "subject_id", "purpose", "created_at"],
    )
    op.create_table(
        "consent_events",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("record_id", sa.String(ID), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("policy_version", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "record_id"],
            ["consent_records.tenant_id", "consent_records.record_id"],
        ),
    )
    op.create_table(
        "policy_versions",
        sa.Column("tenant_id", sa.String(TENANT), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("loaded_at", sa.DateTime, nullable=False),
        sa.Column("loaded_by", sa.String(200), nullable=False),
    )
    op.create_index("ux_policy_version", "policy_versions", ["tenant_id", "version"], unique=True)
    # --- restrictions ---
    op.create_table(
        "subject_restrictions",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("restriction_id", sa.String(32), primary_key=True),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("restricted_at", sa.DateTime, nullable=False),
        sa.Column("lifted_at", sa.DateTime),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
        _subject_fk(),
    )
    op.create_index("ix_restrictions_subject", "subject_restrictions", ["tenant_id", "subject_id"])
    op.create_table(
        "subject_objections",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("objection_id", sa.String(32), primary_key=True),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("purpose", sa.String(64), nullable=False),
        sa.Column("objected_at", sa.DateTime, nullable=False),
        sa.Column("withdrawn_at", sa.DateTime),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
        _subject_fk(),
    )
    op.create_index("ix_objections_subject", "subject_objections", ["tenant_id", "subject_id"])
    # --- retention ---
    op.create_table(
        "billing_records",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("record_id", sa.String(32), primary_key=True),
        sa.Column("call_date", sa.Date, nullable=False),
        sa.Column("billsec_s", sa.Integer, nullable=False),
        sa.Column("payer_subject_id", sa.String(32)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index("ix_billing_date", "billing_records", ["tenant_id", "call_date"])
    op.create_index("ix_billing_payer", "billing_records", ["tenant_id", "payer_subject_id"])
    op.create_table(
        "retention_runs",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(32), primary_key=True),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("error", sa.String(200)),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index("ix_retention_runs_started", "retention_runs", ["tenant_id", "started_at"])
    # --- support ---
    op.create_table(
        "support_sessions",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("session_id", sa.String(32), primary_key=True),
        sa.Column("ticket", sa.String(100), nullable=False),
        sa.Column("engineer", sa.String(200), nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("wrapped_key", sa.LargeBinary),
        sa.Column("reads", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
    )
    op.create_index("ix_support_ticket", "support_sessions", ["tenant_id", "ticket"])
    # --- voicemail_keys ---
    op.create_table(
        "voicemail_keys",
        sa.Column("tenant_id", sa.String(64), primary_key=True),
        sa.Column("voicemail_id", sa.String(32), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("subject_id", sa.String(32), nullable=False),
        sa.Column("share", sa.LargeBinary, nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.tenant_id"]),
        sa.ForeignKeyConstraint(
            ["tenant_id", "voicemail_id"],
            ["voicemails.tenant_id", "voicemails.voicemail_id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "subject_id"],
            ["subjects.tenant_id", "subjects.subject_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_voicemail_keys_subject", "voicemail_keys", ["tenant_id", "subject_id"])


def downgrade() -> None:
    op.drop_table("voicemail_keys")
    op.drop_table("support_sessions")
    op.drop_index("ix_retention_runs_started", "retention_runs")
    op.drop_table("retention_runs")
    op.drop_index("ix_billing_payer", "billing_records")
    op.drop_index("ix_billing_date", "billing_records")
    op.drop_table("billing_records")
    op.drop_table("subject_objections")
    op.drop_table("subject_restrictions")
    op.drop_table("policy_versions")
    op.drop_table("consent_events")
    op.drop_table("consent_records")
    op.drop_table("call_statistics")
    for table in (
        "audit_heads",
        "audit_log",
        "voicemails",
        "calls",
        "subject_identifiers",
        "subjects",
        "tenant_keys",
        "tenants",
    ):
        op.drop_table(table)
