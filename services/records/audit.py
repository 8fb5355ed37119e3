"""Append-only, hash-chained audit trail: who changed what, when.

Each entry's hash covers the previous entry's hash, so editing or deleting any entry breaks
every later link. `python -m services.records.audit verify` reports the first broken link.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from services.common.db import bulk_insert
from services.records.models import AuditEntry

GENESIS = "0" * 64
_TABLE = AuditEntry.__table__


# WatchChanges' initial metadata: the feed's tip when the call was accepted (the cursor is
# valid: a follower knows it is following before any event arrives).
FEED_TIP_METADATA = "credit-feed-tip"


def feed_tip(bind: Session | Connection) -> int:
    """The sequence number of the last entry (0 for none): the change feed's tip."""
    return feed_head(bind)[0]


def feed_head(bind: Session | Connection) -> tuple[int, str | None]:
    """The last entry's (seq, hash); (0, None) for an empty log."""
    row = bind.execute(select(AuditEntry.seq, AuditEntry.hash)
                       .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return (int(row.seq), row.hash) if row is not None else (0, None)


class Change(NamedTuple):
    """One change of a write transaction: announced on the feed and written to the audit."""

    entity_key: str
    kind: str  # the audit entry's action
    record_id: int | None  # for the change feed (see models.AuditEntry): not hashed
    actor: str
    object_type: str
    object_id: str
    # The detail, or its canonical_json text when the caller already built it (bulk paths).
    detail: dict[str, Any] | str


def canonical_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _timestamp(at: datetime) -> str:
    # SQLite hands datetimes back naive, PostgreSQL aware: hash one UTC form of both.
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


def link_hash(prev: str, seq: int, at: datetime, entity_key: str, actor: str, action: str,
              object_type: str, object_id: str, detail: str) -> str:
    return _link(prev, seq, _timestamp(at), entity_key, actor, action, object_type, object_id,
                 detail)


def _link(prev: str, seq: int, timestamp: str, *fields: str) -> str:
    material = "\x1f".join((prev, str(seq), timestamp, *fields))
    return hashlib.sha256(material.encode()).hexdigest()


def append(session: Session, changes: Sequence[Change], at: datetime) -> None:
    """Appends an entry per change; the caller holds the writer lock, so the chain tip cannot
    move."""
    if not changes:
        return
    tip = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (tip[0], tip[1]) if tip else (0, GENESIS)
    at = at.astimezone(UTC)
    timestamp = _timestamp(at)  # one `at` per transaction: format it once
    rows: list[dict[str, Any]] = []
    for key, action, record_id, actor, object_type, object_id, detail in changes:
        seq += 1
        if not isinstance(detail, str):
            detail = canonical_json(detail)
        digest = _link(prev, seq, timestamp, key, actor, action, object_type, object_id, detail)
        rows.append({
            "seq": seq, "entity_key": key, "at": at, "actor": actor, "action": action,
            "object_type": object_type, "object_id": object_id, "detail": detail,
            "prev_hash": prev, "hash": digest, "record_id": record_id,
        })
        prev = digest
    bulk_insert(session, _TABLE, rows)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Verification:
    checked: int
    first_broken: int | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.first_broken is None


def verify(entries: Iterable[AuditEntry]) -> Verification:
    """Walks the chain in seq order and reports the first entry that does not link."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for e in entries:
        if e.seq != expected_seq:
            return Verification(checked, expected_seq, f"entry {expected_seq} is missing")
        if e.prev_hash != prev:
            return Verification(checked, e.seq, "prev_hash does not match the previous entry")
        digest = link_hash(prev, e.seq, e.at, e.entity_key, e.actor, e.action, e.object_type,
                           e.object_id, e.detail)
        if digest != e.hash:
            return Verification(checked, e.seq, "content does not match its hash")
        prev, expected_seq, checked = e.hash, expected_seq + 1, checked + 1
    return Verification(checked, None, "chain intact")


def verify_database(session: Session) -> Verification:
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(10_000)
    return verify(r[0] for r in rows)


def main(argv: list[str] | None = None) -> int:
    from services.records.store import open_store

    parser = argparse.ArgumentParser(prog="python -m services.records.audit")
    parser.add_argument("command", choices=["verify"])
    parser.add_argument("--database-url", default=os.environ.get(
        "RECORDS_DATABASE_URL", "sqlite:///data/records.db"),
        help="defaults to RECORDS_DATABASE_URL, else the embedded SQLite file")
    args = parser.parse_args(argv)
    store = open_store(args.database_url, migrate_schema=False)
    with store.sessions() as session:
        result = verify_database(session)
    if result.ok:
        print(f"audit chain intact: {result.checked} entries verified")
        return 0
    print(f"audit chain BROKEN at entry {result.first_broken}: {result.reason} "
          f"({result.checked} entries before it verified)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
