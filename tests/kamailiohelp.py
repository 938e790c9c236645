"""Kamailio's accounting tables, as ``kamctl``'s db_sqlite / db_postgres scripts create them
(``acc-create.sql``), with the ``db_extra``/``cdr_extra`` columns of Kamailio's sample config."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import create_engine, text

_TRANSACTION = """
CREATE TABLE {table} (
    id {serial} PRIMARY KEY NOT NULL,
    method VARCHAR(16) DEFAULT '' NOT NULL,
    from_tag VARCHAR(128) DEFAULT '' NOT NULL,
    to_tag VARCHAR(128) DEFAULT '' NOT NULL,
    callid VARCHAR(255) DEFAULT '' NOT NULL,
    sip_code VARCHAR(3) DEFAULT '' NOT NULL,
    sip_reason VARCHAR(128) DEFAULT '' NOT NULL,
    time TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    src_user VARCHAR(64) DEFAULT '' NOT NULL,
    src_domain VARCHAR(128) DEFAULT '' NOT NULL,
    src_ip VARCHAR(64) DEFAULT '' NOT NULL,
    dst_ouser VARCHAR(64) DEFAULT '' NOT NULL,
    dst_user VARCHAR(64) DEFAULT '' NOT NULL,
    dst_domain VARCHAR(128) DEFAULT '' NOT NULL
)"""
_CDRS = """
CREATE TABLE acc_cdrs (
    id {serial} PRIMARY KEY NOT NULL,
    start_time TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:00' NOT NULL,
    end_time TIMESTAMP WITHOUT TIME ZONE DEFAULT '2000-01-01 00:00:00' NOT NULL,
    duration REAL DEFAULT 0 NOT NULL,
    src_user VARCHAR(64) DEFAULT '' NOT NULL,
    dst_user VARCHAR(64) DEFAULT '' NOT NULL,
    callid VARCHAR(255) DEFAULT '' NOT NULL
)"""

CALLID = "a84b4c76e66710@pc33.atlanta.example.com"
SECRETS = [CALLID, "fromtag1928301774", "kq83x7tag", "192.0.2.101", "atlanta.example.com"]


def create(url: str) -> None:
    serial = "SERIAL" if url.startswith("postgresql") else "INTEGER"
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in ("acc", "missed_calls"):
            conn.execute(text(_TRANSACTION.format(table=table, serial=serial)))
        conn.execute(text(_CDRS.format(serial=serial)))
    engine.dispose()


def insert(url: str, table: str, rows: Iterable[dict[str, object]]) -> None:
    rows = list(rows)
    engine = create_engine(url)
    with engine.begin() as conn:
        names = list(rows[0])
        sql = (
            f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
        )
        conn.execute(text(sql), rows)
    engine.dispose()


def missed(n: int, code: str, src: str = "+4550505050", dst: str = "201") -> dict[str, object]:
    """A failed INVITE as missed_calls holds it (log_missed_flag)."""
    return {
        "method": "INVITE", "from_tag": "fromtag1928301774", "to_tag": f"t{n}",
        "callid": f"{n}-{CALLID}", "sip_code": code, "sip_reason": "Busy Here",
        "time": f"2026-11-02 10:{n:02d}:00", "src_user": src, "src_domain": "atlanta.example.com",
        "src_ip": "192.0.2.101", "dst_ouser": dst, "dst_user": dst, "dst_domain": "acme.example",
    }  # fmt: skip


def cdr(n: int, seconds: float, src: str = "201", dst: str = "+4540404040") -> dict[str, object]:
    """A dialog CDR (cdr_enable) of an answered call, with its cdr_extra columns."""
    return {
        "start_time": f"2026-11-02 11:{n:02d}:00", "end_time": f"2026-11-02 11:{n:02d}:{int(seconds):02d}",
        "duration": seconds, "src_user": src, "dst_user": dst, "callid": f"{n}-{CALLID}",
    }  # fmt: skip
