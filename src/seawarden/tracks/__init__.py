"""Per-vessel tracks: state, segmentation, identity and the MMSI/MID registry."""
