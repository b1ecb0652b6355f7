"""Shared lists of real captures used by several test modules."""

from __future__ import annotations

from pathlib import Path

# Every NMEA capture in ../shared/testdata (relative to testdata/).
NMEA_CAPTURES = [
    "ais-decode/dma-aislib/ais250.txt",
    "ais-decode/dma-aislib/decode_encode_messages.txt",
    "ais-decode/dma-aislib/replay_dump.txt",
    "ais-decode/dma-aislib/retry_example.txt",
    "ais-decode/dma-aislib/small_cb_example.txt",
    "ais-decode/dma-aislib/small_example.txt",
    "ais-decode/dma-aislib/stream_example.txt",
    "ais-decode/gfw-ais-tools/bad-tagblock-group.nmea",
    "ais-decode/gfw-ais-tools/bad-type5.nmea",
    "ais-decode/gfw-ais-tools/ee-multiline.nmea",
    "ais-decode/gfw-ais-tools/errors.nmea",
    "ais-decode/gfw-ais-tools/mixed_types.nmea",
    "ais-decode/gfw-ais-tools/multi-part.nmea",
    "ais-decode/gfw-ais-tools/sample.nmea",
    "ais-decode/gfw-ais-tools/single-message-type-5.nmea",
    "ais-decode/gfw-ais-tools/spire-test.nmea",
    "ais-decode/gfw-ais-tools/type1-bad-bitcount.nmea",
    "ais-decode/gfw-ais-tools/type8.nmea",
    "ais-decode/libais/tagblock.nmea",
    "ais-decode/libais/test.aivdm",
    "ais-decode/libais/typeexamples.nmea",
    "ais-decode/noaadata/test.ais",
    "ais-decode/pyais/ais_test_messages",
    "ais-decode/pyais/examples_gatehouse.nmea",
    "ais-decode/pyais/examples_sample.ais",
    "ais-decode/pyais/messages.ais",
    "ais-decode/pyais/mixed.txt",
    "ais-decode/pyais/nmea_data_sample.txt",
    "ais-decode/pyais/timestamped.ais",
    "ais-tracks/aisdb/test_data_20211101.nm4",
]


def clean_samples() -> list[Path]:
    """The bundled real feeds without the edge-case corpus (they quarantine nothing)."""
    from seawarden.demo import bundled_samples

    return [p for p in bundled_samples() if not p.name.startswith("gfw_edge")]
