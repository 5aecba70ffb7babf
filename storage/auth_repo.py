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
``ID_TOKEN_INFO`` is the IdTokenInfoType as compact JSON, wire names, keys sorted
(``AuthRepository.encode``): the form it had before the block spoke models, so existing
databases load and their byte counts stay right.

The repository speaks :class:`~messages.ocpp201.IdTokenType` and
:class:`~messages.ocpp201.IdTokenInfoType`. Reading an entry parses its JSON into a model
through a small memo keyed by the stored text (:func:`decode_info`): the models are frozen,
so one parsed model can serve every row with the same text, and a list of 100,000 entries,
where many entries share one idTokenInfo (a status and a group), costs a lookup no model
construction.

The repository keeps running totals of the entries and bytes of each table (a row counts the
length of its hash plus its JSON), computed once when opened and updated with every change, so
the Storage/Entries variables cost nothing to report even for a list of 100,000 entries.

Every method that writes is one transaction (``BEGIN IMMEDIATE``); :meth:`replace_list` and
:meth:`update_list` change the entries and the version together, so a crash leaves either the
old list or the new one (D01.FR.10).
"""
from __future__ import annotations

import functools
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Iterable

from messages.ocpp201 import IdTokenInfoType, IdTokenType, to_wire
from storage.lite import transaction

__all__ = ["AuthRepository", "CacheEntry", "decode_info", "token_hash"]


def token_hash(id_token: IdTokenType) -> str:
    """libocpp's key for a token: sha256 over ``type`` followed by ``idToken``, hex."""
    return hashlib.sha256((id_token.type.value + id_token.id_token).encode()).hexdigest()


@functools.lru_cache(maxsize=4096)
def decode_info(text: str) -> IdTokenInfoType:
    """The model of a stored ``ID_TOKEN_INFO``; memoized by text (see the module docstring).

    Sharing is safe because the models are frozen. The text was written by :meth:`encode`
    from a model (or by libocpp from a schema-valid payload), so it always parses. A miss
    parses the JSON in pydantic-core directly, which takes less time than ``json.loads``
    alone (about 2 against 3 microseconds for a status with a group), so even a list whose
    entries all differ looks up no slower than when the block kept dicts.
    """
    return IdTokenInfoType.model_validate_json(text)


@dataclass(frozen=True)
class CacheEntry:
    info: IdTokenInfoType
    last_used_ms: int
    expiry_ms: int | None


class AuthRepository:
    """Rows of AUTH_CACHE, AUTH_LIST and AUTH_LIST_VERSION; see the module docstring.

    List writes take entries already encoded (``(hash, encode(info))``): the caller needs the
    text's size for the Storage limits first, and encoding once is what paging 100,000
    entries can afford.
    """

    @staticmethod
    def encode(info: IdTokenInfoType) -> str:
        """The stored JSON of an IdTokenInfo (its size is what Storage counts)."""
        return json.dumps(to_wire(info), separators=(",", ":"), sort_keys=True)

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

    def list_get(self, key: str) -> IdTokenInfoType | None:
        row = self._db.execute("SELECT ID_TOKEN_INFO FROM AUTH_LIST WHERE ID_TOKEN_HASH = ?",
                               (key,)).fetchone()
        return None if row is None else decode_info(row[0])

    def replace_list(self, version: int, entries: Iterable[tuple[str, str]]) -> None:
        """SendLocalList Full: the list becomes ``entries``, (hash, :meth:`encode` text)
        pairs (D01.FR.04/15)."""
        rows = list(entries)
        with transaction(self._db) as db:
            db.execute("DELETE FROM AUTH_LIST")
            db.executemany("INSERT INTO AUTH_LIST (ID_TOKEN_HASH, ID_TOKEN_INFO) VALUES (?, ?)",
                           rows)
            self._set_version(db, version)
        self.list_entries = len(rows)
        self.list_bytes = sum(len(k) + len(v) for k, v in rows)

    def update_list(self, version: int, changes: list[tuple[str, str | None]],
                    totals: tuple[int, int] | None = None) -> None:
        """SendLocalList Differential: upsert entries with info (:meth:`encode` text), delete
        those without (D01.FR.16/17), and set the version, all at once. ``totals``: the
        (entries, bytes) :meth:`list_sizes_after` computed for these changes, if the caller
        has them."""
        if totals is None:
            totals = self.list_sizes_after(changes)
        with transaction(self._db) as db:
            db.executemany("DELETE FROM AUTH_LIST WHERE ID_TOKEN_HASH = ?",
                           [(key,) for key, info in changes if info is None])
            db.executemany("INSERT OR REPLACE INTO AUTH_LIST (ID_TOKEN_HASH, ID_TOKEN_INFO) "
                           "VALUES (?, ?)",
                           [(key, text) for key, text in changes if text is not None])
            self._set_version(db, version)
        self.list_entries, self.list_bytes = totals

    def list_sizes_after(self, changes: list[tuple[str, str | None]]) -> tuple[int, int]:
        """(entries, bytes) the list would have after a Differential ``changes``; to refuse an
        update that does not fit before anything is written."""
        entries, size = self.list_entries, self.list_bytes
        for key, text in changes:
            old = self._row_size("AUTH_LIST", key)
            if old is not None:
                entries, size = entries - 1, size - old
            if text is not None:
                entries, size = entries + 1, size + len(key) + len(text)
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
        return CacheEntry(decode_info(row[0]), int(row[1]),
                          None if row[2] is None else int(row[2]))

    def cache_put(self, key: str, info: IdTokenInfoType, last_used_ms: int,
                  expiry_ms: int | None) -> None:
        text = self.encode(info)
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

    def cache_rows_for_eviction(self) -> list[tuple[str, str, int, int | None, int]]:
        """Every cache row as (key, status, last_used_ms, expiry_ms, size), least recently
        used first; the cache is bounded by AuthCacheCtrlr.Storage's maxLimit, so this stays
        small. Only the status matters for eviction, so SQLite reads it out of the JSON and
        no row becomes a model."""
        rows = self._db.execute(
            "SELECT ID_TOKEN_HASH, json_extract(ID_TOKEN_INFO, '$.status'), LAST_USED, "
            "EXPIRY_DATE, LENGTH(ID_TOKEN_HASH) + LENGTH(ID_TOKEN_INFO) FROM AUTH_CACHE "
            "ORDER BY LAST_USED, ID_TOKEN_HASH").fetchall()
        return [(r[0], r[1], int(r[2]), None if r[3] is None else int(r[3]), int(r[4]))
                for r in rows]
