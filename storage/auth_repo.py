"""The Authorization Cache (C10) and the Local Authorization List (D01) on the core database.

Theory of operation
-------------------
The tables are libocpp's (``migrations/core`` 1 and 2), with libocpp's meanings:

* ``AUTH_LIST(ID_TOKEN_HASH, ID_TOKEN_INFO)`` and the one-row ``AUTH_LIST_VERSION(ID 0,
  VERSION)``: the list the CSMS sent with SendLocalList; version 0 means none yet (D02.FR.02).
* ``AUTH_CACHE(ID_TOKEN_HASH, ID_TOKEN_INFO, LAST_USED, EXPIRY_DATE)``: the last idTokenInfo
  received for a token (C10.FR.01); ``LAST_USED`` and ``EXPIRY_DATE`` are milliseconds since
  the Unix epoch (``EXPIRY_DATE`` NULL: the entry lives AuthCacheLifeTime after its last use,
  C10.FR.08; set: the CSMS's cacheExpiryDateTime, C10.FR.13).

Tokens are stored only as libocpp's hash, ``sha256(type + idToken)`` in lower-case hex
(``ocpp::v2::utils::generate_token_hash``), so the card numbers are not in the file
(C10.FR.12) and a database written by either program answers the other's lookups.
``ID_TOKEN_INFO`` is the IdTokenInfoType as JSON, wire names.

The repository keeps running totals of the entries and bytes of each table (a row counts the
length of its hash plus its JSON), computed once when opened and updated with every change, so
the Storage/Entries variables cost nothing to report even for a list of 100,000 entries.

Every method that writes is one transaction (``BEGIN IMMEDIATE``); :meth:`replace_list` and
:meth:`update_list` change the entries and the version together, so a crash leaves either the
old list or the new one (D01.FR.10).
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Iterable

from storage.lite import transaction

__all__ = ["AuthRepository", "CacheEntry", "token_hash"]


def token_hash(id_token: dict) -> str:
    """libocpp's key for a token: sha256 over ``type`` followed by ``idToken``, hex."""
    return hashlib.sha256((id_token["type"] + id_token["idToken"]).encode()).hexdigest()


@dataclass(frozen=True)
class CacheEntry:
    info: dict
    last_used_ms: int
    expiry_ms: int | None


class AuthRepository:
    """Rows of AUTH_CACHE, AUTH_LIST and AUTH_LIST_VERSION; see the module docstring."""

    @staticmethod
    def dumps(info: dict) -> str:
        """The stored JSON of an IdTokenInfo (its size is what Storage counts)."""
        return json.dumps(info, separators=(",", ":"), sort_keys=True)

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self.list_entries, self.list_bytes = self._totals("AUTH_LIST")
        self.cache_entries, self.cache_bytes = self._totals("AUTH_CACHE")

    def _totals(self, table: str) -> tuple[int, int]:
        count, size = self._db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(LENGTH(ID_TOKEN_HASH) + LENGTH(ID_TOKEN_INFO)), 0) "
            f"FROM {table}").fetchone()
        return int(count), int(size)

    def _row_size(self, table: str, key: str) -> int | None:
        row = self._db.execute(
            f"SELECT LENGTH(ID_TOKEN_HASH) + LENGTH(ID_TOKEN_INFO) FROM {table} "
            f"WHERE ID_TOKEN_HASH = ?", (key,)).fetchone()
        return None if row is None else int(row[0])

    # -- local authorization list --------------------------------------------------------------

    def list_version(self) -> int:
        row = self._db.execute("SELECT VERSION FROM AUTH_LIST_VERSION WHERE ID = 0").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0

    def list_get(self, key: str) -> dict | None:
        row = self._db.execute("SELECT ID_TOKEN_INFO FROM AUTH_LIST WHERE ID_TOKEN_HASH = ?",
                               (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def replace_list(self, version: int, entries: Iterable[tuple[str, dict]]) -> None:
        """SendLocalList Full: the list becomes ``entries`` (D01.FR.04/15)."""
        rows = [(key, self.dumps(info)) for key, info in entries]
        with transaction(self._db) as db:
            db.execute("DELETE FROM AUTH_LIST")
            db.executemany("INSERT INTO AUTH_LIST (ID_TOKEN_HASH, ID_TOKEN_INFO) VALUES (?, ?)",
                           rows)
            self._set_version(db, version)
        self.list_entries = len(rows)
        self.list_bytes = sum(len(k) + len(v) for k, v in rows)

    def update_list(self, version: int, changes: list[tuple[str, dict | None]],
                    totals: tuple[int, int] | None = None) -> None:
        """SendLocalList Differential: upsert entries with info, delete those without
        (D01.FR.16/17), and set the version, all at once. ``totals``: the (entries, bytes)
        :meth:`list_sizes_after` computed for these changes, if the caller has them."""
        if totals is None:
            totals = self.list_sizes_after(changes)
        with transaction(self._db) as db:
            db.executemany("DELETE FROM AUTH_LIST WHERE ID_TOKEN_HASH = ?",
                           [(key,) for key, info in changes if info is None])
            db.executemany("INSERT OR REPLACE INTO AUTH_LIST (ID_TOKEN_HASH, ID_TOKEN_INFO) "
                           "VALUES (?, ?)",
                           [(key, self.dumps(info)) for key, info in changes if info is not None])
            self._set_version(db, version)
        self.list_entries, self.list_bytes = totals

    def list_sizes_after(self, changes: list[tuple[str, dict | None]]) -> tuple[int, int]:
        """(entries, bytes) the list would have after a Differential ``changes``; to refuse an
        update that does not fit before anything is written."""
        entries, size = self.list_entries, self.list_bytes
        for key, info in changes:
            old = self._row_size("AUTH_LIST", key)
            if old is not None:
                entries, size = entries - 1, size - old
            if info is not None:
                entries, size = entries + 1, size + len(key) + len(self.dumps(info))
        return entries, size

    @staticmethod
    def _set_version(db: sqlite3.Connection, version: int) -> None:
        db.execute("INSERT OR REPLACE INTO AUTH_LIST_VERSION (ID, VERSION) VALUES (0, ?)",
                   (version,))

    # -- authorization cache ---------------------------------------------------------------------

    def cache_get(self, key: str) -> CacheEntry | None:
        row = self._db.execute(
            "SELECT ID_TOKEN_INFO, LAST_USED, EXPIRY_DATE FROM AUTH_CACHE "
            "WHERE ID_TOKEN_HASH = ?", (key,)).fetchone()
        if row is None:
            return None
        return CacheEntry(json.loads(row[0]), int(row[1]), None if row[2] is None else int(row[2]))

    def cache_put(self, key: str, info: dict, last_used_ms: int, expiry_ms: int | None) -> None:
        text = self.dumps(info)
        with transaction(self._db) as db:
            old = self._row_size("AUTH_CACHE", key)
            db.execute("INSERT OR REPLACE INTO AUTH_CACHE "
                       "(ID_TOKEN_HASH, ID_TOKEN_INFO, LAST_USED, EXPIRY_DATE) VALUES (?, ?, ?, ?)",
                       (key, text, last_used_ms, expiry_ms))
        if old is not None:
            self.cache_entries, self.cache_bytes = self.cache_entries - 1, self.cache_bytes - old
        self.cache_entries += 1
        self.cache_bytes += len(key) + len(text)

    def cache_touch(self, key: str, last_used_ms: int) -> None:
        with transaction(self._db) as db:
            db.execute("UPDATE AUTH_CACHE SET LAST_USED = ? WHERE ID_TOKEN_HASH = ?",
                       (last_used_ms, key))

    def cache_delete(self, keys: Iterable[str]) -> None:
        with transaction(self._db) as db:
            for key in keys:
                old = self._row_size("AUTH_CACHE", key)
                if old is None:
                    continue
                db.execute("DELETE FROM AUTH_CACHE WHERE ID_TOKEN_HASH = ?", (key,))
                self.cache_entries -= 1
                self.cache_bytes -= old

    def cache_clear(self) -> None:
        with transaction(self._db) as db:
            db.execute("DELETE FROM AUTH_CACHE")
        self.cache_entries = self.cache_bytes = 0

    def cache_rows_for_eviction(self) -> list[tuple[str, dict, int, int | None, int]]:
        """Every cache row as (key, info, last_used_ms, expiry_ms, size), least recently used
        first; the cache is bounded by AuthCacheCtrlr.Storage's maxLimit, so this stays small."""
        rows = self._db.execute(
            "SELECT ID_TOKEN_HASH, ID_TOKEN_INFO, LAST_USED, EXPIRY_DATE, "
            "LENGTH(ID_TOKEN_HASH) + LENGTH(ID_TOKEN_INFO) FROM AUTH_CACHE "
            "ORDER BY LAST_USED, ID_TOKEN_HASH").fetchall()
        return [(r[0], json.loads(r[1]), int(r[2]), None if r[3] is None else int(r[3]), int(r[4]))
                for r in rows]
