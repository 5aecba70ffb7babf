"""Tests for storage/queue_repo.py (libocpp's TRANSACTION_QUEUE and NORMAL_QUEUE tables)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy

from storage import lite
from storage.database import close_engine, open_database
from storage.queue_repo import NORMAL_QUEUE, TRANSACTION_QUEUE, QueueRepository, StoredMessage

CORE = Path(__file__).resolve().parents[2] / "migrations" / "core"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def database(tmp_path):
    return tmp_path / "core" / "cp.db"


@pytest.fixture
def connection(database):
    connection = lite.connect(database, CORE)
    yield connection
    connection.close()


@pytest.fixture
def repo(connection):
    return QueueRepository(connection)


def message(unique_id: str, *, seconds: float = 0, transactional: bool = True,
            action: str | None = None, attempts: int = 0, **payload) -> StoredMessage:
    action = action or ("TransactionEvent" if transactional else "StatusNotification")
    return StoredMessage(unique_id, action, payload or {"n": unique_id},
                         T0 + timedelta(seconds=seconds), attempts, transactional)


def ids(messages) -> list[str]:
    return [m.unique_id for m in messages]


class TestRowsAsLibocppWritesThem:
    """Columns of 1_up-initial.sql / 3_up-persist-normal-messages.sql, filled the libocpp way
    (DatabaseHandlerCommon::insert_message_queue_message)."""

    def test_message_is_the_whole_call_array(self, repo, connection):
        repo.insert(message("a", seqNo=3))
        text, kind, attempts, stamp = connection.execute(
            "SELECT MESSAGE, MESSAGE_TYPE, MESSAGE_ATTEMPTS, MESSAGE_TIMESTAMP "
            "FROM TRANSACTION_QUEUE WHERE UNIQUE_ID = 'a'").fetchone()
        assert json.loads(text) == [2, "a", "TransactionEvent", {"seqNo": 3}]
        assert kind == "TransactionEvent"
        assert attempts == 0
        assert stamp == "2025-03-01T12:00:00.000Z"

    def test_timestamp_is_written_in_utc(self, repo, connection):
        local = datetime(2025, 3, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
        repo.insert(StoredMessage("a", "TransactionEvent", {}, local))
        stamp = connection.execute("SELECT MESSAGE_TIMESTAMP FROM TRANSACTION_QUEUE").fetchone()[0]
        assert stamp == "2025-03-01T12:00:00.123Z"

    def test_normal_messages_go_to_normal_queue(self, repo):
        repo.insert(message("n", transactional=False))
        assert repo.count(transactional=False) == 1
        assert repo.count(transactional=True) == 0
        assert repo.load()[0].table == NORMAL_QUEUE

    def test_round_trip_keeps_every_field(self, repo):
        original = message("a", seconds=1.5, attempts=2, seqNo=7, offline=True)
        repo.insert(original)
        (loaded,) = repo.load()
        assert loaded == original
        assert loaded.table == TRANSACTION_QUEUE

    def test_free_form_text_survives_unescaped(self, repo, connection):
        repo.insert(message("a", action="SecurityEventNotification", techInfo="Zürich ☃"))
        text = connection.execute("SELECT MESSAGE FROM TRANSACTION_QUEUE").fetchone()[0]
        assert "Zürich ☃" in text
        assert repo.load()[0].payload == {"techInfo": "Zürich ☃"}

    def test_rows_are_visible_to_a_sqlalchemy_engine_on_the_same_file(self, repo, database):
        repo.insert(message("a"))
        engine = open_database(database, CORE)
        try:
            with engine.connect() as c:
                rows = c.execute(sqlalchemy.text("SELECT UNIQUE_ID FROM TRANSACTION_QUEUE")).all()
        finally:
            close_engine(engine)
        assert rows == [("a",)]


class TestWrites:
    def test_delete_removes_only_that_row(self, repo):
        repo.insert(message("a"))
        repo.insert(message("b"))
        repo.delete("a", transactional=True)
        assert ids(repo.load()) == ["b"]

    def test_delete_of_an_absent_row_is_harmless(self, repo):
        repo.delete("nothing", transactional=True)
        repo.delete("nothing", transactional=False)

    def test_delete_looks_only_in_the_named_table(self, repo):
        repo.insert(message("a", transactional=False))
        repo.delete("a", transactional=True)
        assert ids(repo.load()) == ["a"]

    def test_set_attempts_is_stored(self, repo):
        repo.insert(message("a"))
        repo.set_attempts("a", 2, transactional=True)
        assert repo.load()[0].attempts == 2

    def test_clear_empties_one_table_and_counts(self, repo):
        repo.insert(message("a"))
        repo.insert(message("n1", transactional=False))
        repo.insert(message("n2", transactional=False))
        assert repo.clear(transactional=False) == 2
        assert ids(repo.load()) == ["a"]

    def test_duplicate_id_is_refused(self, repo):
        repo.insert(message("a"))
        with pytest.raises(ValueError, match="already holds"):
            repo.insert(message("a"))

    def test_unserializable_payload_stores_nothing(self, repo):
        with pytest.raises(ValueError, match="not serializable"):
            repo.insert(StoredMessage("a", "TransactionEvent", {"x": object()}, T0))
        with pytest.raises(ValueError, match="not serializable"):
            repo.insert(StoredMessage("b", "TransactionEvent", {"x": float("nan")}, T0))
        assert repo.load() == []

    def test_naive_created_at_is_refused(self, repo):
        with pytest.raises(ValueError, match="timezone-aware"):
            repo.insert(StoredMessage("a", "TransactionEvent", {}, datetime(2025, 1, 1)))

    def test_insert_many_is_all_or_nothing(self, repo):
        repo.insert(message("b"))
        with pytest.raises(ValueError):
            repo.insert_many([message("a"), message("b")])
        assert ids(repo.load()) == ["b"]

    def test_insert_many_keeps_the_given_order(self, repo):
        repo.insert_many([message("z", transactional=False), message("y", transactional=False)])
        assert ids(repo.load()) == ["z", "y"]


class TestOrder:
    """Rows come back in insertion order per table; the tables are merged by timestamp."""

    def test_insertion_order_wins_over_timestamps_within_a_table(self, repo):
        # The CSMS set the clock back between two events: seqNo order must still hold.
        repo.insert(message("first", seconds=100))
        repo.insert(message("second", seconds=5))
        assert ids(repo.load()) == ["first", "second"]

    def test_many_rows_keep_their_order_although_ids_are_random(self, repo):
        names = [f"{i * 7919 % 1000:03d}-{i}" for i in range(300)]
        for name in names:
            repo.insert(message(name))
        assert ids(repo.load()) == names

    def test_a_row_inserted_after_deleting_the_newest_still_comes_last(self, repo):
        for name in "abc":
            repo.insert(message(name))
        repo.delete("c", transactional=True)   # its rowid is free again
        repo.insert(message("d"))
        assert ids(repo.load()) == ["a", "b", "d"]

    def test_tables_are_merged_by_timestamp_transaction_first_on_a_tie(self, repo):
        repo.insert(message("t1", seconds=1))
        repo.insert(message("t3", seconds=3))
        repo.insert(message("n0", seconds=0, transactional=False))
        repo.insert(message("n1", seconds=1, transactional=False))
        repo.insert(message("n4", seconds=4, transactional=False))
        assert ids(repo.load()) == ["n0", "t1", "n1", "t3", "n4"]

    def test_include_normal_false_reads_only_transaction_queue(self, repo):
        repo.insert(message("t"))
        repo.insert(message("n", transactional=False))
        assert ids(repo.load(include_normal=False)) == ["t"]


class TestDamagedRows:
    def test_unreadable_message_is_skipped_and_left_in_place(self, repo, connection):
        repo.insert(message("good1"))
        connection.execute(
            "INSERT INTO TRANSACTION_QUEUE VALUES ('bad', '{not json', 'TransactionEvent', 0, "
            "'2025-03-01T12:00:00.000Z')")
        connection.execute(
            "INSERT INTO TRANSACTION_QUEUE VALUES ('short', '[2, \"short\"]', 'TransactionEvent', "
            "0, '2025-03-01T12:00:00.000Z')")
        repo.insert(message("good2"))
        assert ids(repo.load()) == ["good1", "good2"]
        assert repo.count(transactional=True) == 4

    def test_unreadable_timestamp_sorts_first_but_keeps_the_row(self, repo, connection):
        repo.insert(message("n", transactional=False))
        connection.execute(
            "INSERT INTO TRANSACTION_QUEUE VALUES ('t', '[2,\"t\",\"TransactionEvent\",{}]', "
            "'TransactionEvent', 1, 'yesterday')")
        loaded = repo.load()
        assert ids(loaded) == ["t", "n"]
        assert loaded[0].attempts == 1


class TestDurability:
    def test_power_safe_sets_synchronous_full(self, connection):
        QueueRepository(connection)
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL

    def test_power_safe_false_keeps_the_connection_setting(self, connection):
        QueueRepository(connection, power_safe=False)
        assert connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL (lite)

    def test_a_committed_row_is_seen_by_another_connection_without_closing(self, repo, database):
        # What a SIGKILL leaves: the writer never closes, a new process opens the file.
        repo.insert(message("a"))
        other = lite.connect(database, CORE)
        try:
            assert ids(QueueRepository(other).load()) == ["a"]
        finally:
            other.close()
