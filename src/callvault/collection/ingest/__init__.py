"""collection/ingest."""
