"""Embedded store: one DuckDB file in the data directory; columnar scans, compressed appends.

Re-ingest adds nothing: every row carries a 64-bit message key (source + raw text + source
time) and appends anti-join on it. Identity history is a view over the identity reports, so it
can never disagree with them.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seawarden import types as T
from seawarden.errors import StoreError
from seawarden.ingest.result import IngestBatch
from seawarden.store.base import AppendResult
from seawarden.tracks.mid import flag_of

DB_FILE = "seawarden.duckdb"

_DDL = {
    "positions": f"""
        CREATE TABLE IF NOT EXISTS positions (
            {T.MMSI} INTEGER NOT NULL, {T.T_UTC} TIMESTAMPTZ, {T.LAT} DOUBLE, {T.LON} DOUBLE,
            {T.SOG_KN} REAL, {T.COG_DEG} REAL, {T.HEADING_DEG} SMALLINT, {T.NAV_STATUS} TINYINT,
            {T.MSG_TYPE} TINYINT NOT NULL, {T.POS_ACC} BOOLEAN, {T.SOURCE} VARCHAR NOT NULL,
            {T.STATION} VARCHAR, {T.RECEIVED_AT} TIMESTAMPTZ NOT NULL, {T.OWNER} VARCHAR NOT NULL,
            {T.REL_TO} VARCHAR NOT NULL, {T.MSG_KEY} UBIGINT NOT NULL)""",
    "identities": f"""
        CREATE TABLE IF NOT EXISTS identities (
            {T.MMSI} INTEGER NOT NULL, {T.T_UTC} TIMESTAMPTZ, {T.MSG_TYPE} TINYINT NOT NULL,
            {T.SHIPNAME} VARCHAR, {T.CALLSIGN} VARCHAR, {T.IMO} INTEGER, {T.SHIP_TYPE} SMALLINT,
            {T.TO_BOW_M} SMALLINT, {T.TO_STERN_M} SMALLINT, {T.TO_PORT_M} SMALLINT,
            {T.TO_STARBOARD_M} SMALLINT, {T.DRAUGHT_M} REAL, {T.DESTINATION} VARCHAR,
            {T.SOURCE} VARCHAR NOT NULL, {T.STATION} VARCHAR,
            {T.RECEIVED_AT} TIMESTAMPTZ NOT NULL, {T.OWNER} VARCHAR NOT NULL,
            {T.REL_TO} VARCHAR NOT NULL, {T.MSG_KEY} UBIGINT NOT NULL)""",
    "others": f"""
        CREATE TABLE IF NOT EXISTS others (
            {T.MMSI} INTEGER NOT NULL, {T.T_UTC} TIMESTAMPTZ, {T.MSG_TYPE} TINYINT NOT NULL,
            {T.PAYLOAD} VARCHAR NOT NULL, {T.FILL_BITS} TINYINT NOT NULL,
            {T.SOURCE} VARCHAR NOT NULL, {T.STATION} VARCHAR,
            {T.RECEIVED_AT} TIMESTAMPTZ NOT NULL, {T.OWNER} VARCHAR NOT NULL,
            {T.REL_TO} VARCHAR NOT NULL, {T.MSG_KEY} UBIGINT NOT NULL)""",
    "quarantine": f"""
        CREATE TABLE IF NOT EXISTS quarantine (
            {T.SOURCE} VARCHAR NOT NULL, {T.LINE_NO} BIGINT NOT NULL,
            {T.RECEIVED_AT} TIMESTAMPTZ NOT NULL, {T.STAGE} VARCHAR NOT NULL,
            {T.REASON} VARCHAR NOT NULL, {T.DETAIL} VARCHAR, {T.RAW} BLOB NOT NULL,
            {T.OWNER} VARCHAR NOT NULL, {T.REL_TO} VARCHAR NOT NULL,
            {T.MSG_KEY} UBIGINT NOT NULL)""",
    "events": f"""
        CREATE TABLE IF NOT EXISTS events (
            id VARCHAR NOT NULL, type VARCHAR NOT NULL, status VARCHAR NOT NULL,
            start TIMESTAMPTZ NOT NULL, "end" TIMESTAMPTZ, vessels INTEGER[] NOT NULL,
            {T.LAT} DOUBLE, {T.LON} DOUBLE, metrics JSON NOT NULL, detector VARCHAR NOT NULL,
            detector_version VARCHAR NOT NULL, params JSON NOT NULL, evidence JSON NOT NULL,
            published BOOLEAN NOT NULL, {T.OWNER} VARCHAR NOT NULL, {T.REL_TO} VARCHAR NOT NULL,
            reported TIMESTAMPTZ, updated_at TIMESTAMPTZ NOT NULL)""",
    "ingest_runs": """
        CREATE TABLE IF NOT EXISTS ingest_runs (
            run_id VARCHAR PRIMARY KEY, source VARCHAR NOT NULL, inputs VARCHAR NOT NULL,
            started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ NOT NULL,
            counters JSON NOT NULL, added JSON NOT NULL)""",
}

# Identity attributes tracked as versions (value, first and last seen) per vessel.
_ATTRS = {
    "shipname": T.SHIPNAME,
    "callsign": T.CALLSIGN,
    "imo": f"CAST({T.IMO} AS VARCHAR)",
    "ship_type": f"CAST({T.SHIP_TYPE} AS VARCHAR)",
    # Bow/stern/port/starboard in metres; all zero means "not available".
    "dimensions": (
        f"CASE WHEN {T.TO_BOW_M} IS NULL OR ({T.TO_BOW_M} = 0 AND {T.TO_STERN_M} = 0 "
        f"AND {T.TO_PORT_M} = 0 AND {T.TO_STARBOARD_M} = 0) THEN NULL "
        f"ELSE concat_ws('/', {T.TO_BOW_M}, {T.TO_STERN_M}, {T.TO_PORT_M}, "
        f"{T.TO_STARBOARD_M}) END"
    ),
}


def _visible(viewer: str | None, alias: str = "") -> str:
    """SQL predicate: rows released to ``viewer`` (a nation), or all rows for None."""
    if viewer is None:
        return "TRUE"
    p = f"{alias}." if alias else ""
    code = viewer.strip().upper().replace("'", "")
    return (
        f"({p}{T.REL_TO} = 'ALL' OR {p}{T.OWNER} = '{code}' "
        f"OR list_contains(string_split({p}{T.REL_TO}, ','), '{code}'))"
    )


class EmbeddedStore:
    """DuckDB in one file under the data directory."""

    def __init__(self, path: Path, threads: int | None = None) -> None:
        self.path = path
        try:
            path.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(path / DB_FILE))
        except (OSError, duckdb.Error) as exc:
            raise StoreError(
                f"cannot open the data directory {path}: {exc}. Check the path and that no "
                "other seawarden process is writing to it."
            ) from exc
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        self.con.execute("SET TimeZone = 'UTC'")
        for ddl in _DDL.values():
            self.con.execute(ddl)
        # Data directories made before events carried their first report time.
        self.con.execute("ALTER TABLE events ADD COLUMN IF NOT EXISTS reported TIMESTAMPTZ")
        self._views()

    def _views(self) -> None:
        unions = " UNION ALL ".join(
            f"SELECT {T.MMSI}, '{name}' AS attribute, {expr} AS value, "
            f"coalesce({T.T_UTC}, {T.RECEIVED_AT}) AS seen, {T.SOURCE}, {T.OWNER}, {T.REL_TO} "
            f"FROM identities"
            for name, expr in _ATTRS.items()
        )
        self.con.execute(
            f"CREATE OR REPLACE VIEW identity_reports AS SELECT * FROM ({unions}) "
            "WHERE value IS NOT NULL AND value <> ''"
        )

    # --- writes -------------------------------------------------------------------------
    def _insert_new(self, table: str, rows: pa.Table) -> tuple[int, int]:
        """Insert rows whose key is not stored yet; returns (added, duplicates).

        Duplicates inside the batch are found with numpy; against the table, only keys of rows
        in the batch's time range are read (DuckDB skips other row groups by their min/max).
        Rows go in sorted by vessel and time, which is what scans want and what compresses.
        """
        n_in = rows.num_rows
        if n_in == 0:
            return 0, 0
        keys = rows[T.MSG_KEY].to_numpy()
        # One order for everything: by key to find repeats in the batch, then by vessel and time.
        by_key = np.argsort(keys, kind="stable")
        sk = keys[by_key]
        keep = np.ones(n_in, np.bool_)
        rep = np.flatnonzero(sk[1:] == sk[:-1]) + 1
        keep[by_key[rep]] = False  # later copies of a key (stable sort keeps the first)
        where = ""
        args: list[object] = []
        if T.T_UTC in rows.column_names:
            lo, hi = pc.min_max(rows[T.T_UTC]).values()
            if lo.is_valid:
                where = f"WHERE ({T.T_UTC} BETWEEN ? AND ?"
                args = [lo.as_py(), hi.as_py()]
                if rows[T.T_UTC].null_count:
                    where += f" OR {T.T_UTC} IS NULL"
                where += ")"
            else:
                where = f"WHERE ({T.T_UTC} IS NULL)"
        self.con.register("_keys", pa.table({"k": keys}))
        try:
            seen = self.con.execute(
                f"SELECT {T.MSG_KEY} FROM {table} {where} "
                f"{'AND' if where else 'WHERE'} {T.MSG_KEY} IN (SELECT k FROM _keys)",
                args,
            ).fetchnumpy()[T.MSG_KEY]
        finally:
            self.con.unregister("_keys")
        if len(seen):
            # Every stored key is one of ours: find it in the sorted keys (first copy).
            seen = np.asarray(seen, dtype=np.uint64)
            at = np.minimum(np.searchsorted(sk, seen), n_in - 1)
            at = at[sk[at] == seen]
            keep[by_key[at]] = False
        n_new = int(keep.sum())
        if n_new == 0:
            return 0, n_in
        if T.MMSI in rows.column_names and T.T_UTC in rows.column_names:
            t = rows[T.T_UTC].cast(pa.int64()).fill_null(np.iinfo(np.int64).max).to_numpy()
            order = np.lexsort((t, rows[T.MMSI].to_numpy(zero_copy_only=False)))
            order = order[keep[order]]
        else:
            order = np.flatnonzero(keep)
        if n_new < n_in or not np.array_equal(order, np.arange(n_in)):
            rows = rows.take(order)
        self.con.register("_new", rows)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _new")
        finally:
            self.con.unregister("_new")
        return n_new, n_in - n_new

    def append(self, batch: IngestBatch) -> AppendResult:
        res = AppendResult()
        self.con.execute("BEGIN TRANSACTION")
        try:
            res.positions, d1 = self._insert_new("positions", batch.positions)
            # Identity rows of types 19/21 share their position row's key: count a message once,
            # so duplicates are counted only for identity rows with no position row (5, 24, CSV).
            ids = batch.identities
            shared = pc.is_in(ids[T.MSG_KEY], value_set=batch.positions[T.MSG_KEY])
            shared = pc.fill_null(shared, False)
            a_shared, _ = self._insert_new("identities", ids.filter(shared))
            a_own, d2 = self._insert_new("identities", ids.filter(pc.invert(shared)))
            res.identities = a_shared + a_own
            res.others, d3 = self._insert_new("others", batch.others)
            res.quarantine, _ = self._insert_new("quarantine", batch.quarantine)
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        res.duplicates = d1 + d2 + d3
        return res

    def record_run(
        self,
        source: str,
        inputs: list[str],
        started_at: datetime,
        counters: dict[str, object],
        added: AppendResult,
    ) -> None:
        self.con.execute(
            "INSERT INTO ingest_runs VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                uuid.uuid4().hex,
                source,
                json.dumps(inputs),
                started_at,
                datetime.now(UTC),
                json.dumps(counters),
                json.dumps(added.__dict__),
            ],
        )

    def upsert_events(self, events: pa.Table) -> int:
        """Store event updates (EVENT_SCHEMA); an id already stored is replaced: the latest
        status of an event wins, and the earliest report time is kept. Returns the number of
        rows written."""
        if events.num_rows == 0:
            return 0
        now = datetime.now(UTC)
        self.con.register("_ev", events)
        self.con.execute("BEGIN TRANSACTION")
        try:
            self.con.execute(
                "CREATE OR REPLACE TEMP TABLE _old AS "
                "SELECT id, reported FROM events WHERE id IN (SELECT id FROM _ev)"
            )
            self.con.execute("DELETE FROM events WHERE id IN (SELECT id FROM _ev)")
            self.con.execute(
                "INSERT INTO events BY NAME SELECT ev.* REPLACE ("
                "  coalesce(least(ev.reported, o.reported), ev.reported, o.reported) AS reported"
                "), ? AS updated_at FROM _ev ev LEFT JOIN _old o USING (id)",
                [now],
            )
            self.con.execute("DROP TABLE _old")
            self.con.execute("COMMIT")
        except Exception:
            self.con.execute("ROLLBACK")
            raise
        finally:
            self.con.unregister("_ev")
        return events.num_rows

    def events(
        self,
        type: str | None = None,
        mmsi: int | None = None,
        since: datetime | None = None,
        viewer: str | None = None,
    ) -> pa.Table:
        where = [_visible(viewer)]
        args: list[object] = []
        if type is not None:
            where.append("type = ?")
            args.append(type)
        if mmsi is not None:
            where.append("list_contains(vessels, ?)")
            args.append(int(mmsi))
        if since is not None:
            where.append('coalesce("end", start) >= ?')
            args.append(since)
        sql = (
            f"SELECT * EXCLUDE (updated_at) FROM events WHERE {' AND '.join(where)} "
            "ORDER BY start, id"
        )
        return self.con.sql(sql, params=args).to_arrow_table()

    # --- reads --------------------------------------------------------------------------
    def positions(
        self,
        mmsi: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        viewer: str | None = None,
    ) -> pa.Table:
        where = [_visible(viewer)]
        args: list[object] = []
        if mmsi is not None:
            where.append(f"{T.MMSI} = ?")
            args.append(int(mmsi))
        if since is not None:
            where.append(f"{T.T_UTC} >= ?")
            args.append(since)
        if until is not None:
            where.append(f"{T.T_UTC} < ?")
            args.append(until)
        sql = (
            f"SELECT * EXCLUDE ({T.MSG_KEY}) FROM positions WHERE {' AND '.join(where)} "
            f"ORDER BY {T.MMSI}, {T.T_UTC} NULLS LAST, {T.RECEIVED_AT}"
        )
        return self.con.sql(sql, params=args).to_arrow_table()

    def vessels(self, viewer: str | None = None) -> pa.Table:
        vis = _visible(viewer)
        sql = f"""
        WITH p AS (
            SELECT {T.MMSI}, count(*) AS positions,
                   min({T.T_UTC}) AS first_seen, max({T.T_UTC}) AS last_seen,
                   arg_max({T.LAT}, coalesce({T.T_UTC}, {T.RECEIVED_AT})) AS last_lat,
                   arg_max({T.LON}, coalesce({T.T_UTC}, {T.RECEIVED_AT})) AS last_lon,
                   mode({T.MSG_TYPE}) AS msg_type
            FROM positions WHERE {vis} AND {T.MSG_TYPE} NOT IN (4, 11) GROUP BY {T.MMSI}),
        i AS (
            SELECT {T.MMSI},
                   arg_max({T.SHIPNAME}, coalesce({T.T_UTC}, {T.RECEIVED_AT}))
                       FILTER (WHERE {T.SHIPNAME} IS NOT NULL) AS {T.SHIPNAME},
                   arg_max({T.CALLSIGN}, coalesce({T.T_UTC}, {T.RECEIVED_AT}))
                       FILTER (WHERE {T.CALLSIGN} IS NOT NULL) AS {T.CALLSIGN},
                   arg_max({T.IMO}, coalesce({T.T_UTC}, {T.RECEIVED_AT}))
                       FILTER (WHERE {T.IMO} IS NOT NULL) AS {T.IMO},
                   arg_max({T.SHIP_TYPE}, coalesce({T.T_UTC}, {T.RECEIVED_AT}))
                       FILTER (WHERE {T.SHIP_TYPE} IS NOT NULL) AS {T.SHIP_TYPE},
                   arg_max({T.TO_BOW_M} + {T.TO_STERN_M}, coalesce({T.T_UTC}, {T.RECEIVED_AT}))
                       FILTER (WHERE {T.TO_BOW_M} + {T.TO_STERN_M} > 0) AS length_m,
                   count(*) AS identity_reports
            FROM identities WHERE {vis} GROUP BY {T.MMSI})
        SELECT coalesce(p.{T.MMSI}, i.{T.MMSI}) AS {T.MMSI}, i.{T.SHIPNAME}, i.{T.CALLSIGN},
               i.{T.IMO}, i.{T.SHIP_TYPE}, i.length_m, coalesce(p.positions, 0) AS positions,
               coalesce(i.identity_reports, 0) AS identity_reports,
               p.first_seen, p.last_seen, p.last_lat, p.last_lon, p.msg_type
        FROM p FULL OUTER JOIN i ON p.{T.MMSI} = i.{T.MMSI}
        ORDER BY 1"""
        tab = self.con.sql(sql).to_arrow_table()
        flags = flag_of(tab[T.MMSI].to_numpy(zero_copy_only=False))
        return tab.add_column(1, "flag", pa.array(list(flags), pa.string()))

    def identity_history(self, mmsi: int | None = None, viewer: str | None = None) -> pa.Table:
        where = [_visible(viewer)]
        args: list[object] = []
        if mmsi is not None:
            where.append(f"{T.MMSI} = ?")
            args.append(int(mmsi))
        sql = f"""
        SELECT {T.MMSI}, attribute, value, min(seen) AS first_seen, max(seen) AS last_seen,
               count(*) AS reports, list(DISTINCT {T.SOURCE} ORDER BY {T.SOURCE}) AS sources
        FROM identity_reports WHERE {" AND ".join(where)}
        GROUP BY ALL ORDER BY {T.MMSI}, attribute, first_seen"""
        return self.con.sql(sql, params=args).to_arrow_table()

    def quarantine(self, reason: str | None = None, viewer: str | None = None) -> pa.Table:
        where = [_visible(viewer)]
        args: list[object] = []
        if reason is not None:
            where.append(f"{T.REASON} = ?")
            args.append(reason)
        sql = (
            f"SELECT * EXCLUDE ({T.MSG_KEY}) FROM quarantine WHERE {' AND '.join(where)} "
            f"ORDER BY {T.SOURCE}, {T.LINE_NO}"
        )
        return self.con.sql(sql, params=args).to_arrow_table()

    def runs(self) -> pa.Table:
        return self.con.sql("SELECT * FROM ingest_runs ORDER BY started_at").to_arrow_table()

    def counts(self, viewer: str | None = None) -> dict[str, int]:
        vis = _visible(viewer)
        out: dict[str, int] = {}
        for table in ("positions", "identities", "others", "quarantine"):
            # fetchall, not fetchone: an unfinished result blocks the next con.sql() (DuckDB 2)
            rows = self.con.execute(f"SELECT count(*) FROM {table} WHERE {vis}").fetchall()
            out[table] = int(rows[0][0]) if rows else 0
        # Vessels as the registry lists them: reporting positions (not base stations) or
        # identities.
        rows = self.con.execute(
            f"SELECT count(*) FROM (SELECT {T.MMSI} FROM positions WHERE {vis} "
            f"AND {T.MSG_TYPE} NOT IN (4, 11) UNION SELECT {T.MMSI} FROM identities WHERE {vis})"
        ).fetchall()
        out["vessels"] = int(rows[0][0]) if rows else 0
        return out

    def quarantine_by_reason(self, viewer: str | None = None) -> dict[str, int]:
        rows = self.con.execute(
            f"SELECT {T.REASON}, count(*) FROM quarantine WHERE {_visible(viewer)} "
            "GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
        return {str(r): int(c) for r, c in rows}

    def close(self) -> None:
        self.con.close()
