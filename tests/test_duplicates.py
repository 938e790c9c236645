"""The Bloom filter of an ingest's own source keys (collection/ingest/duplicates.py)."""

import random

from callvault.collection.ingest.duplicates import SeenKeys


def test_every_key_seen_is_reported_and_few_others():
    rng = random.Random(17)
    stored = [rng.randbytes(16) for _ in range(200_000)]
    seen = SeenKeys()
    seen.add(stored)
    assert seen.maybe(stored) == stored  # never a miss: a miss would store a record twice
    others = [rng.randbytes(16) for _ in range(100_000)]
    assert len(seen.maybe(others)) < 100  # about 3 in 100,000 at this fill


def test_an_empty_filter_reports_nothing():
    rng = random.Random(3)
    assert SeenKeys().maybe([rng.randbytes(16) for _ in range(1_000)]) == []
