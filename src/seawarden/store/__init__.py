"""The store: embedded by default (one data directory, no server), behind one interface."""

from seawarden.store.base import Store, open_store

__all__ = ["Store", "open_store"]
