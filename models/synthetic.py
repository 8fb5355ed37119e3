"""Reproduce the shipped default model: demo data in a throw-away SQLite database, then train.

    python -m models.synthetic [--seed 7] [--entities 20000] [--today 2025-11-20]
        [--out models/artifacts] [--version V] [--set-default]

Everything is a pure function of (seed, entities, today): the generator is deterministic, the
fit has no randomness, and `created` is the fixed today, so the same arguments rewrite the
same artifact byte for byte (and hence the same version name).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from models.registry import ARTIFACTS_DIR, ModelArtifactError, set_default
from models.train import (
    DEFAULT_MIN_IV,
    TrainingError,
    TrainingResult,
    report,
    train_database,
)
from services.records import demo
from services.records.store import open_store

__all__ = ["DEFAULT_ENTITIES", "DEFAULT_SEED", "TODAY", "build", "main"]

DEFAULT_SEED: Final = 7
DEFAULT_ENTITIES: Final = 20_000
TODAY: Final = date(2025, 11, 20)
# Persons' entity keys are keyed hashes of their IDs; a fixed key keeps the generated database
# reproducible too.  The model never sees keys, and no real ID is ever hashed with it.
_PII_KEY: Final = b"models.synthetic:not-a-secret:" + b"0" * 2


def build(out: Path = ARTIFACTS_DIR, *, seed: int = DEFAULT_SEED,
          entities: int = DEFAULT_ENTITIES, today: date = TODAY, version: str | None = None,
          min_iv: float = DEFAULT_MIN_IV) -> TrainingResult:
    """Generate the demo history and train on it; the database is deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="credit-synthetic-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'records.db'}"
        store = open_store(url, pii_key=_PII_KEY, clock=lambda: today)
        try:
            stats = demo.load(store, seed, entities, today=today)
        finally:
            store.engine.dispose()
        if stats.rejected:
            raise TrainingError(f"the generator produced {stats.rejected} rejected records: "
                                f"{stats.errors[:3]}")
        return train_database(
            url, out, today=today, min_iv=min_iv, version=version,
            created=datetime(today.year, today.month, today.day, tzinfo=UTC),
            synthetic_seed=seed, synthetic_entities=entities,
            # Not the temp path: it differs per run and would break byte-for-byte reproduction.
            description=(f"temporary SQLite records database filled by services.records.demo "
                         f"(seed {seed}, {entities:,} entities, {stats.records:,} records, "
                         f"today {today})"),
            today_source="the generator's fixed today")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.synthetic",
                                 description="Rebuild the synthetic default scorecard.")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--entities", type=int, default=DEFAULT_ENTITIES)
    ap.add_argument("--today", type=date.fromisoformat, default=TODAY,
                    help=f"the generator's today (default {TODAY})")
    ap.add_argument("--out", type=Path, default=ARTIFACTS_DIR)
    ap.add_argument("--version", help="artifact version (default: scorecard-YYYYMMDD-<hash>)")
    ap.add_argument("--min-iv", type=float, default=DEFAULT_MIN_IV)
    ap.add_argument("--set-default", action="store_true",
                    help="make the result the default model")
    args = ap.parse_args(argv)
    if args.entities < 1:
        ap.error("--entities must be at least 1")
    try:
        result = build(args.out, seed=args.seed, entities=args.entities, today=args.today,
                       version=args.version, min_iv=args.min_iv)
        if args.set_default:
            set_default(result.version, args.out)
    except (TrainingError, ModelArtifactError, ValueError) as exc:
        print(f"synthetic: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if args.set_default:
        print(f"default model is now {result.version}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
