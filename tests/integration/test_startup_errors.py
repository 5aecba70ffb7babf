"""run.py refuses a database file it cannot use: exit code 2, the file and SQLite's reason on
stderr, no traceback, no actor started (issue #9)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from station.config import PROJECT_DIR
from tests.integration.station_process import StationProcess

pytestmark = pytest.mark.integration

GARBAGE = b"not a database at all\n" * 300


def run_station(process: StationProcess) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(PROJECT_DIR / "run.py"), "--config", str(process.config_path)],
        cwd=PROJECT_DIR, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)


@pytest.fixture
def station(tmp_path, free_port) -> StationProcess:
    # Nothing listens at the CSMS URL: the station must stop before it would connect.
    return StationProcess(tmp_path, f"ws://127.0.0.1:{free_port()}", free_port())


@pytest.mark.parametrize("which", ["core", "device model"])
def test_a_garbage_database_stops_start_up_with_code_2(station, tmp_path, which):
    path = tmp_path / "core" / "cp.db" if which == "core" else tmp_path / "dm.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(GARBAGE)
    result = run_station(station)
    assert result.returncode == 2, result.stderr
    assert str(path) in result.stderr
    assert "file is not a database" in result.stderr
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == GARBAGE                  # left for the operator to look at
