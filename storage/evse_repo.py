"""Durable state of one EVSE, and a read-only look at the device model, for the Evse process.

Theory of operation
-------------------
The Evse actor (one process per EVSE) persists everything it must not lose *before* it sends a
TransactionEvent (ARCHITECTURE.md, "Durable state lives in SQLite"): the transaction state of
block E, the simulated hardware, the events the CsmsSession has not acknowledged yet, and the
meter values collected for TransactionEvent(Ended). :meth:`EvseRepository.save` writes, in one
SQLite transaction on the core database:

* libocpp's ``TRANSACTIONS`` row of the EVSE (``migrations/core/4_up-transactions_db.sql``):
  transaction id, connector, start time, next seqNo, chargingState, whether the idToken was
  sent; the row exists exactly while a transaction runs, so a libocpp tool sees the same thing;
* this project's ``EVSE_STATE`` row (``7_up-evse_state.sql``): the rest, as one JSON document.

Both are written together or not at all, so after a crash they always agree.

Like every repository that runs in the per-EVSE processes this speaks ``sqlite3`` directly
(``storage/lite.py``: a SQLAlchemy engine costs 5.6 MB per process).

:func:`read_device_model` reads variables of the *device-model* database read-only: the
CsmsSession is its only writer (and tells the Evse about changes with ``EvseSettingsChanged``);
the Evse only needs the values once at start. It opens a short-lived read-only connection, so
no handle on that file stays open in 128 processes.
"""
from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from typing import Any, Iterable

from storage.lite import transaction

__all__ = ["EvseRepository", "TransactionRow", "read_device_model"]

_SELECT_STATE = "SELECT STATE_JSON FROM EVSE_STATE WHERE EVSE_ID = ?"
_UPSERT_STATE = ("INSERT INTO EVSE_STATE (EVSE_ID, STATE_JSON, UPDATED_AT) VALUES (?, ?, ?) "
                 "ON CONFLICT (EVSE_ID) DO UPDATE SET STATE_JSON = excluded.STATE_JSON, "
                 "UPDATED_AT = excluded.UPDATED_AT")
# TRANSACTION_ID and EVSE_ID are both UNIQUE: one row per EVSE, replaced when a new transaction
# starts there. A leftover row of another EVSE with the same id cannot exist (ids are UUIDs).
_UPSERT_TX = ("INSERT INTO TRANSACTIONS (TRANSACTION_ID, EVSE_ID, CONNECTOR_ID, TIME_START, "
              "SEQ_NO, CHARGING_STATE, ID_TAG_SENT) VALUES (?, ?, ?, ?, ?, ?, ?) "
              "ON CONFLICT (EVSE_ID) DO UPDATE SET TRANSACTION_ID = excluded.TRANSACTION_ID, "
              "CONNECTOR_ID = excluded.CONNECTOR_ID, TIME_START = excluded.TIME_START, "
              "SEQ_NO = excluded.SEQ_NO, CHARGING_STATE = excluded.CHARGING_STATE, "
              "ID_TAG_SENT = excluded.ID_TAG_SENT")
_DELETE_TX = "DELETE FROM TRANSACTIONS WHERE EVSE_ID = ?"
_SELECT_TX = ("SELECT TRANSACTION_ID, CONNECTOR_ID, TIME_START, SEQ_NO, CHARGING_STATE, "
              "ID_TAG_SENT FROM TRANSACTIONS WHERE EVSE_ID = ?")
_SELECT_RUNNING = "SELECT TRANSACTION_ID, EVSE_ID, TIME_START FROM TRANSACTIONS"


@dataclass(frozen=True)
class TransactionRow:
    """libocpp's TRANSACTIONS columns for the transaction running on one EVSE.

    Attributes:
        transaction_id: the transactionId.
        connector_id: the connector in use; 0 while unknown (token first, no cable yet).
        time_start_ms: start of the transaction, milliseconds since the Unix epoch.
        seq_no: the seqNo the *next* TransactionEvent of this transaction will carry.
        charging_state: the chargingState last reported.
        id_tag_sent: the idToken was already put in a TransactionEvent.
    """

    transaction_id: str
    connector_id: int
    time_start_ms: int
    seq_no: int
    charging_state: str
    id_tag_sent: bool


class EvseRepository:
    """The EVSE_STATE and TRANSACTIONS rows of the EVSEs, on the core database.

    Args:
        connection: a connection from :func:`storage.lite.connect` on the core database.
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def load(self, evse_id: int) -> dict[str, Any] | None:
        """The state saved for ``evse_id``, or None if there is none (a new EVSE).

        Raises:
            ValueError: the stored document is not a JSON object (a damaged database).
        """
        row = self._db.execute(_SELECT_STATE, (evse_id,)).fetchone()
        if row is None:
            return None
        state = json.loads(row[0])
        if not isinstance(state, dict):
            raise ValueError(f"EVSE_STATE of EVSE {evse_id} is not a JSON object")
        return state

    def transaction(self, evse_id: int) -> TransactionRow | None:
        """The TRANSACTIONS row of ``evse_id``, if a transaction runs there."""
        row = self._db.execute(_SELECT_TX, (evse_id,)).fetchone()
        if row is None:
            return None
        tx_id, connector, start, seq_no, state, sent = row
        return TransactionRow(tx_id, int(connector), int(start), int(seq_no), state, bool(sent))

    def running(self) -> dict[str, tuple[int, int]]:
        """transactionId -> (EVSE id, start in ms since the epoch) of every TRANSACTIONS row.

        The CsmsSession reads this at start: after a restart of its own it must still know the
        transactions the Evses kept running (RequestStopTransaction, TxProfiles, reset).
        """
        return {tx_id: (int(evse_id), int(start))
                for tx_id, evse_id, start in self._db.execute(_SELECT_RUNNING)}

    def save(self, evse_id: int, state: dict[str, Any], running: TransactionRow | None,
             updated_at: str) -> None:
        """Replace the EVSE's state and its TRANSACTIONS row (deleted when ``running`` is None).

        Returns once committed: the caller may then send what the state says was sent.
        """
        document = json.dumps(state, separators=(",", ":"), allow_nan=False)
        with transaction(self._db) as db:
            db.execute(_UPSERT_STATE, (evse_id, document, updated_at))
            if running is None:
                db.execute(_DELETE_TX, (evse_id,))
            else:
                db.execute(_UPSERT_TX, (running.transaction_id, evse_id, running.connector_id,
                                        running.time_start_ms, running.seq_no,
                                        running.charging_state, int(running.id_tag_sent)))


# -- the device model, read-only -------------------------------------------------------------------

# Station-level component (no instance, no EVSE/connector tier), variable without instance,
# attribute type Actual (VARIABLE_ATTRIBUTE_TYPE 0), as DeviceModel.get reads by default.
# Names are ASCII, so SQLite's lower() folds them like str.casefold.
_SELECT_VARIABLES = (
    "SELECT c.EVSE_ID, c.NAME, v.NAME, a.VALUE FROM VARIABLE_ATTRIBUTE a "
    "JOIN VARIABLE v ON a.VARIABLE_ID = v.ID JOIN COMPONENT c ON v.COMPONENT_ID = c.ID "
    "WHERE a.TYPE_ID = 0 AND c.INSTANCE IS NULL AND c.EVSE_ID IS NULL AND c.CONNECTOR_ID IS NULL "
    "AND v.INSTANCE IS NULL AND lower(c.NAME) IN ({components})")
# The same on an EVSE's tier (J01.FR.19: AlignedDataCtrlr.SendDuringIdle per EVSE).
_SELECT_EVSE_VARIABLES = (
    "SELECT c.EVSE_ID, c.NAME, v.NAME, a.VALUE FROM VARIABLE_ATTRIBUTE a "
    "JOIN VARIABLE v ON a.VARIABLE_ID = v.ID JOIN COMPONENT c ON v.COMPONENT_ID = c.ID "
    "WHERE a.TYPE_ID = 0 AND c.INSTANCE IS NULL AND c.EVSE_ID IS NOT NULL "
    "AND c.CONNECTOR_ID IS NULL AND v.INSTANCE IS NULL AND lower(c.NAME) IN ({components})")
# The whole device model of 128 EVSEs is about 50 pages; a small cache bounds what the scan
# (there are no indexes) leaves behind in the 128 processes that read it once.
_READ_CACHE_PAGES = 16


def read_device_model(path: str | os.PathLike, keys: Iterable[str]) -> dict[str, str | None]:
    """Read ``"Component.Variable"`` values from the device-model database, read-only.

    Names match case-insensitively, as the device model does; the result uses the spelling of
    ``keys``. A key the database does not have is left out. A database that does not exist
    yet, or has no device-model tables yet (the CsmsSession creates and seeds it, possibly at
    the same moment in another process), gives ``{}``: the caller keeps its defaults and the
    session's ``EvseSettingsChanged`` brings the values.

    Args:
        path: the device-model database file.
        keys: ``"Component.Variable"`` names.
    """
    return _read_variables(path, keys, _SELECT_VARIABLES).get(None, {})


def read_evse_tier(path: str | os.PathLike, keys: Iterable[str],
                   prefix: str = "") -> dict[int, dict[str, str | None]]:
    """Like :func:`read_device_model` for components of an EVSE's tier (evse.id set, no
    connector): ``{evse_id: {prefix + key: value}}``, for the EVSEs that have such a variable.
    """
    found = _read_variables(path, keys, _SELECT_EVSE_VARIABLES)
    return {evse_id: {prefix + key: value for key, value in values.items()}
            for evse_id, values in found.items() if evse_id is not None}


def _read_variables(path: str | os.PathLike, keys: Iterable[str],
                    select: str) -> dict[int | None, dict[str, str | None]]:
    wanted: dict[tuple[str, str], str] = {}
    for key in keys:
        component, _, variable = key.partition(".")
        wanted[(component.casefold(), variable.casefold())] = key
    if not wanted or not os.path.exists(path):
        return {}
    components = sorted({component for component, _ in wanted})
    query = select.format(components=", ".join("?" * len(components)))
    try:
        # mode=ro: this process never writes the device model (single writer: CsmsSession).
        connection = sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True,
                                     timeout=5.0, cached_statements=0)
    except sqlite3.Error:
        return {}
    try:
        connection.execute(f"PRAGMA cache_size = {_READ_CACHE_PAGES}")
        rows = connection.execute(query, components).fetchall()
    except sqlite3.Error:
        return {}
    finally:
        connection.close()
    found: dict[int | None, dict[str, str | None]] = {}
    for evse_id, component, variable, value in rows:
        key = wanted.get(((component or "").casefold(), (variable or "").casefold()))
        if key is not None:
            found.setdefault(evse_id, {})[key] = value
    return found
