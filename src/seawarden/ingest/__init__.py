"""Ingest: bytes from sources to columnar batches; every line accounted for."""

from seawarden.runtime import tune_malloc

tune_malloc()
