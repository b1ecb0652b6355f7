"""Build the land mask and distance-to-shore grids once, into a cache folder.

    python -m seawarden.geo.build [--cache DIR] [--force]
    python -m seawarden.geo.build --pack ../shared/testdata/geo   # maintainers: refresh data/geo

The grids (60 MB of .npy, memory-mapped when loaded) are derived from the packaged Natural
Earth rings, so they are kept out of the repository and built on first use (15-25 s on 2 cores,
< 450 MB of memory).
The folder is ``$SEAWARDEN_CACHE/geo/grids-<key>`` (default ``~/.cache/seawarden``, or under
``$XDG_CACHE_HOME``); the key changes with the source data and the grid layout, so a stale
build is never read. Concurrent builders (pytest -n 2) wait on a lock and build once.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from seawarden.geo import land, shore
from seawarden.geo.sources import LAND_FILE, data_dir, file_digest, load_rings, pack

BUILD_VERSION = 2  # bump when the grids change for the same sources
META = "meta.json"


def cache_root() -> Path:
    env = os.environ.get("SEAWARDEN_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "seawarden"


def grids_dir(root: Path | None = None) -> Path:
    """Where the grids of the packaged sources live (whether built yet or not)."""
    layout = (
        BUILD_VERSION,
        land.CELLS_PER_DEG,
        shore.NODES_PER_DEG,
        shore.CAP_KM,
        shore.COARSE_PER_DEG,
        shore.DENSIFY_KM,
    )
    text = f"{layout}:{file_digest(data_dir() / LAND_FILE)}"
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    return (root or cache_root()) / "geo" / f"grids-{key}"


def is_built(folder: Path) -> bool:
    return (folder / META).is_file()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as f:
        try:
            import fcntl
        except ImportError:  # no POSIX locks (Windows): builders may race, each rename is atomic
            yield
            return
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_into(folder: Path, log: Callable[[str], None] = lambda _: None) -> dict[str, float]:
    """Build every grid into ``folder`` (meta.json last, so a half-built folder is never used)."""
    t0 = time.perf_counter()
    rings = load_rings()
    t1 = time.perf_counter()
    log(f"rings: {len(rings)} rings, {len(rings.lon)} vertices ({t1 - t0:.1f} s)")
    mask = land.build_land_mask(rings)
    mask.save(folder)
    t2 = time.perf_counter()
    log(f"land mask: {len(mask.tiles)} coastal tiles ({t2 - t1:.1f} s)")
    dist = shore.build_shore_distance(rings, mask)
    dist.save(folder)
    t3 = time.perf_counter()
    log(f"distance to shore: {len(dist.tiles)} near-shore tiles ({t3 - t2:.1f} s)")
    meta = {
        "build_version": BUILD_VERSION,
        "cap_km": dist.cap_km,
        "seconds": {"rings": t1 - t0, "land": t2 - t1, "shore": t3 - t2, "total": t3 - t0},
        "source_sha256": file_digest(data_dir() / LAND_FILE),
    }
    (folder / META).write_text(json.dumps(meta, indent=1))
    return meta["seconds"]  # type: ignore[return-value]


def ensure_built(
    root: Path | None = None, *, force: bool = False, log: Callable[[str], None] = lambda _: None
) -> Path:
    """The grids folder, built first if it is missing (or if ``force``)."""
    folder = grids_dir(root)
    if is_built(folder) and not force:
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent / ".build.lock"):
        if is_built(folder) and not force:
            return folder  # another process built it while we waited
        tmp = Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        try:
            log(f"building context grids into {folder}")
            build_into(tmp, log)
            tmp.chmod(0o755)  # mkdtemp made it private; the cache may be shared
            if folder.exists():
                shutil.rmtree(folder)
            tmp.rename(folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        # Grids of older sources or layouts are dead weight (~60 MB each); a process that still
        # maps them keeps its pages until it ends.
        for old in folder.parent.glob("grids-*"):
            if old != folder:
                shutil.rmtree(old, ignore_errors=True)
    return folder


def read_meta(folder: Path) -> dict[str, object]:
    meta: dict[str, object] = json.loads((folder / META).read_text())
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m seawarden.geo.build", description=__doc__)
    ap.add_argument("--cache", type=Path, help="cache root (default $SEAWARDEN_CACHE or ~/.cache)")
    ap.add_argument("--force", action="store_true", help="rebuild even if already built")
    ap.add_argument(
        "--pack",
        type=Path,
        metavar="TESTDATA_GEO",
        help="first refresh src/seawarden/data/geo from ../shared/testdata/geo",
    )
    args = ap.parse_args(argv)
    if args.pack:
        pack(args.pack, data_dir())
        print(f"packed {args.pack} into {data_dir()}")
    t0 = time.perf_counter()
    folder = ensure_built(args.cache, force=args.force, log=print)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{folder}: {size / 1e6:.1f} MB ready ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
