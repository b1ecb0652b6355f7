"""Detect: explainable behaviour detectors over position batches, one engine for stream and batch."""
