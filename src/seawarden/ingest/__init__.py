"""Ingest: bytes from sources to columnar batches; every line accounted for."""
