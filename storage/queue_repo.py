"""Durable rows of the outgoing message queue: libocpp's TRANSACTION_QUEUE and NORMAL_QUEUE.

Theory of operation
-------------------
:class:`station.message_queue.MessageQueue` decides *what* is sent *when*; this repository only
makes its decisions survive a crash. A queued message is a row from the moment ``insert``
returns until ``delete`` is called for it (after the CSMS answered with a CALLRESULT, or after
its last attempt failed). Nothing is removed when a message is sent: a station that dies
between sending and receiving the answer sends the message again after the restart
(at-least-once delivery; the CSMS recognises a repeated TransactionEvent by transactionId and
seqNo).

Tables (``migrations/core/1_up-initial.sql`` and ``3_up-persist-normal-messages.sql``; the
columns are libocpp's, the schema is not changed here)::

    TRANSACTION_QUEUE   the "must not be lost" class: TransactionEvent (E04.FR.01, E11.FR.01,
                        E12.FR.01) and SecurityEventNotification (A04.FR.02)
    NORMAL_QUEUE        other messages, persisted only while OCPPCommCtrlr.QueueAllMessages
                        is true (libocpp does the same)

    UNIQUE_ID           the queue's id of the message (see "Message ids" below)
    MESSAGE             the whole CALL as libocpp stores it: [2, UNIQUE_ID, action, payload]
    MESSAGE_TYPE        the action, e.g. "TransactionEvent"
    MESSAGE_ATTEMPTS    transmissions that failed so far (CALLERROR or MessageTimeout), E13
    MESSAGE_TIMESTAMP   when the message was created, RFC 3339 UTC with milliseconds

Order. Rows are read back in insertion order (``ORDER BY rowid``: UNIQUE_ID is a TEXT primary
key, so every row also has an implicit rowid, and SQLite gives a new row ``max(rowid) + 1``,
which is larger than the rowid of every row still present). The two tables are merged by
MESSAGE_TIMESTAMP, a transaction row first on a tie, while each table keeps its own row order
whatever its timestamps say (a clock set back by the CSMS must not reorder TransactionEvents).

Message ids. OCPP-J requires a new message id for every CALL, retries included (part 4
§4.1.4), and the RPC layer (``ocppj.rpc``) gives each transmission its own. UNIQUE_ID is
therefore the queue's key for the message, never reused on the wire by this station; it is
also the id inside MESSAGE, so libocpp opening this file sends the message under an id this
station never used.

Durability. Each write is one ``BEGIN IMMEDIATE ... COMMIT``. With ``power_safe`` (the default)
the repository sets ``PRAGMA synchronous = FULL`` on its connection: in WAL mode that syncs the
log at every commit, so a committed row survives a power cut too, not only a killed process
(``NORMAL``, the setting of ``storage.lite``, survives SIGKILL but may lose the last commits on
power loss). The pragma belongs to the connection, so give the repository a connection of its
own. Measured on the development machine (2 cores, virtio disk), 10,000 TransactionEvents of
about 600 bytes through ``MessageQueue.enqueue``: about 4,600 per second with FULL, about 18,000
with NORMAL; delivering them (send + delete) about 5,400 and 22,000 per second.

Why ``sqlite3`` (``storage.lite.connect``) and not a SQLAlchemy engine, although the queue lives
in the single CsmsSession process where an engine's memory cost would not matter: every
enqueued event is its own commit, so per-statement overhead counts (SQLAlchemy Core adds tens
of microseconds per execute); the synchronous pragma must apply to the connection that does
the writes, which a pooled engine hides; and the station's other per-process repositories
(``storage.availability``) already speak plain DB-API on the same tables, so there is one way
of doing it.
"""
from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from storage.lite import transaction

__all__ = ["NORMAL_QUEUE", "TRANSACTION_QUEUE", "QueueRepository", "StoredMessage"]

log = logging.getLogger(__name__)

TRANSACTION_QUEUE = "TRANSACTION_QUEUE"
NORMAL_QUEUE = "NORMAL_QUEUE"
CALL = 2  # MessageTypeId of a CALL (part 4 §4.1.3)

# Table names cannot be bound as parameters; these are the only two ever formatted into SQL.
_SQL = {
    table: {
        "insert": (f"INSERT INTO {table} (UNIQUE_ID, MESSAGE, MESSAGE_TYPE, MESSAGE_ATTEMPTS, "
                   f"MESSAGE_TIMESTAMP) VALUES (?, ?, ?, ?, ?)"),
        "delete": f"DELETE FROM {table} WHERE UNIQUE_ID = ?",
        "attempts": f"UPDATE {table} SET MESSAGE_ATTEMPTS = ? WHERE UNIQUE_ID = ?",
        "clear": f"DELETE FROM {table}",
        "select": (f"SELECT UNIQUE_ID, MESSAGE, MESSAGE_TYPE, MESSAGE_ATTEMPTS, MESSAGE_TIMESTAMP "
                   f"FROM {table} ORDER BY rowid"),
        "count": f"SELECT COUNT(*) FROM {table}",
    }
    for table in (TRANSACTION_QUEUE, NORMAL_QUEUE)
}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class StoredMessage:
    """One queued message as stored.

    Attributes:
        unique_id: The queue's id of the message (UNIQUE_ID); not a wire message id.
        action: OCPP action, e.g. ``"TransactionEvent"``.
        payload: The request payload (wire form).
        created_at: When the message was created (timezone-aware).
        attempts: Transmissions that failed so far (CALLERROR or timeout).
        transactional: True for TRANSACTION_QUEUE, False for NORMAL_QUEUE.
    """

    unique_id: str
    action: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int = 0
    transactional: bool = True

    @property
    def table(self) -> str:
        return _table(self.transactional)


class QueueRepository:
    """Insert, delete and read back the rows of TRANSACTION_QUEUE and NORMAL_QUEUE.

    Args:
        connection: A ``sqlite3`` connection from :func:`storage.lite.connect` on the core
            database, used by nothing else (see ``power_safe``).
        power_safe: Set ``PRAGMA synchronous = FULL`` on the connection so that every commit
            also survives a power cut (see the module docstring). False keeps the
            connection's setting.
    """

    def __init__(self, connection: sqlite3.Connection, *, power_safe: bool = True) -> None:
        self._db = connection
        if power_safe:
            self._db.execute("PRAGMA synchronous = FULL")

    # ------------------------------------------------------------------ writes

    def insert(self, message: StoredMessage) -> None:
        """Store one message; returns once the row is committed.

        Raises:
            ValueError: The payload cannot be serialized, the created_at is naive, or a row
                with this unique_id is already in that table. Nothing is stored then.
        """
        row = _row(message)
        try:
            with transaction(self._db) as db:
                db.execute(_SQL[message.table]["insert"], row)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"{message.table} already holds {message.unique_id!r}") from exc

    def insert_many(self, messages: Iterable[StoredMessage]) -> None:
        """Store several messages in one transaction (all or none), in the given order.

        Raises:
            ValueError: As :meth:`insert`, for any of them; nothing is stored then.
        """
        rows = [(m.table, _row(m)) for m in messages]
        try:
            with transaction(self._db) as db:
                for table, row in rows:
                    db.execute(_SQL[table]["insert"], row)
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"a queued message id is already stored: {exc}") from exc

    def delete(self, unique_id: str, *, transactional: bool) -> None:
        """Remove a message (delivered, or given up). Removing an absent row is not an error."""
        with transaction(self._db) as db:
            db.execute(_SQL[_table(transactional)]["delete"], (unique_id,))

    def set_attempts(self, unique_id: str, attempts: int, *, transactional: bool) -> None:
        """Record how many transmissions of the message failed so far (E13)."""
        with transaction(self._db) as db:
            db.execute(_SQL[_table(transactional)]["attempts"], (attempts, unique_id))

    def clear(self, *, transactional: bool) -> int:
        """Remove every row of one table; returns how many there were."""
        with transaction(self._db) as db:
            return db.execute(_SQL[_table(transactional)]["clear"]).rowcount

    # ------------------------------------------------------------------ reads

    def count(self, *, transactional: bool) -> int:
        return self._db.execute(_SQL[_table(transactional)]["count"]).fetchone()[0]

    def load(self, *, include_normal: bool = True) -> list[StoredMessage]:
        """Every stored message in the order it must be sent (see "Order" in the module doc).

        A row whose MESSAGE cannot be read (not JSON, not a CALL array with an object payload)
        is skipped with an error in the log and left in the table for inspection.

        Args:
            include_normal: Also read NORMAL_QUEUE.
        """
        transaction_rows = self._read(TRANSACTION_QUEUE)
        normal_rows = self._read(NORMAL_QUEUE) if include_normal else []
        return _merge(transaction_rows, normal_rows)

    def _read(self, table: str) -> list[StoredMessage]:
        messages = []
        transactional = table == TRANSACTION_QUEUE
        for unique_id, text, action, attempts, stamp in self._db.execute(_SQL[table]["select"]):
            try:
                frame = json.loads(text)
                if not (isinstance(frame, list) and len(frame) == 4 and isinstance(frame[3], dict)):
                    raise ValueError("not a CALL array [2, id, action, {payload}]")
            except ValueError as exc:
                log.error("%s row %s is unreadable, skipped: %s", table, unique_id, exc)
                continue
            messages.append(StoredMessage(
                unique_id=unique_id,
                action=action or str(frame[2]),
                payload=frame[3],
                created_at=_parse_time(stamp),
                attempts=int(attempts or 0),
                transactional=transactional,
            ))
        return messages


def _table(transactional: bool) -> str:
    return TRANSACTION_QUEUE if transactional else NORMAL_QUEUE


def _row(message: StoredMessage) -> tuple[str, str, str, int, str]:
    if message.created_at.tzinfo is None:
        raise ValueError("created_at must be timezone-aware")
    try:
        text = json.dumps([CALL, message.unique_id, message.action, message.payload],
                          separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{message.action} payload is not serializable: {exc}") from exc
    return (message.unique_id, text, message.action, message.attempts,
            _format_time(message.created_at))


def _format_time(value: datetime) -> str:
    # libocpp's DateTime::to_rfc3339 form: UTC, milliseconds, "Z".
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(text: str | None) -> datetime:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        # Sorts first instead of losing the row; the order within its table is kept anyway.
        log.warning("queue row with unreadable MESSAGE_TIMESTAMP %r", text)
        return _EPOCH
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _merge(first: list[StoredMessage], second: list[StoredMessage]) -> list[StoredMessage]:
    """Merge two lists by created_at, keeping each list's own order; ties go to ``first``."""
    merged: list[StoredMessage] = []
    i = j = 0
    while i < len(first) and j < len(second):
        if second[j].created_at < first[i].created_at:
            merged.append(second[j])
            j += 1
        else:
            merged.append(first[i])
            i += 1
    merged.extend(first[i:])
    merged.extend(second[j:])
    return merged
