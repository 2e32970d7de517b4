"""The operator console at /ops/: live ingestion log, review queue, unrouted inbox, stats."""
