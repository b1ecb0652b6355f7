"""Every error seawarden raises on purpose derives from one root.

SeawardenError
├── InputError                bad input the user can fix (says what to do)
│   ├── FormatError           unknown or unsupported input format / missing CSV columns
│   ├── BadRecordError        a record that fails validation under on_bad="raise"
│   └── MarkingError          data without owner / releasability markings
├── SourceError               a live source cannot be opened or read
├── StoreError                the data directory cannot be opened, read or written
└── ConfigError               an invalid option or configuration value
"""

from __future__ import annotations


class SeawardenError(Exception):
    """Root of every error seawarden raises on purpose."""


class InputError(SeawardenError):
    """Bad input that the user can fix."""


class FormatError(InputError):
    """The input's format is unknown, unsupported, or lacks required columns."""


class BadRecordError(InputError):
    """A record failed validation and the policy was on_bad="raise"."""

    def __init__(self, reason: str, raw: bytes, message: str | None = None) -> None:
        self.reason = reason
        self.raw = raw
        text = raw[:120].decode("latin-1", "replace")
        super().__init__(
            message
            or f"{reason}: {text!r}. Use on_bad='quarantine' (CLI default) to keep such records "
            "in the quarantine instead of stopping."
        )


class MarkingError(InputError):
    """Partner data must carry an owner and releasability."""


class SourceError(SeawardenError):
    """A live source cannot be opened or read."""


class StoreError(SeawardenError):
    """The data directory cannot be opened, read or written."""


class ConfigError(SeawardenError):
    """An invalid option or configuration value."""
