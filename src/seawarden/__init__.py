"""seawarden: open maritime domain awareness and interdiction coordination."""

__version__ = "0.1.0"
