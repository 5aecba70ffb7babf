"""run.py as a process: a wrong configuration stops start-up with exit code 2 and a message
naming the key, never a traceback (README, Configuration). Moved out of tests/unit because it
starts a subprocess; the validation itself is tested without I/O in tests/unit/test_config.py."""
from __future__ import annotations

import subprocess
import sys

from config.station import PROJECT_DIR


def test_run_py_exits_2_with_the_key_and_no_traceback(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("evses:\n  count: 0\n")
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "run.py"), "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "evses.count" in result.stderr and "greater than or equal to 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_py_reports_a_bad_component_file(tmp_path):
    (tmp_path / "cc" / "standardized").mkdir(parents=True)
    (tmp_path / "cc" / "custom").mkdir()
    (tmp_path / "cc" / "custom" / "EVSE_9.json").write_text(
        '{"name": "EVSE", "evse_id": 9, "type": "object", "properties": {}}')
    path = tmp_path / "station.yaml"
    path.write_text(f"ocpp:\n  CoreDatabasePath: {tmp_path}/core\n"
                    f"  DeviceModelConfigPath: {tmp_path}/cc\n")
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "run.py"), "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "EVSE_9.json" in result.stderr and "Traceback" not in result.stderr


def test_run_py_names_a_database_it_cannot_open(tmp_path):
    """A device-model database SQLite cannot create (here in /proc, where nobody may create a
    file, root included): exit 2 naming the file and its key, no SQLite traceback."""
    path = tmp_path / "station.yaml"
    path.write_text(f"ocpp:\n  CoreDatabasePath: {tmp_path}/core\n"
                    "  DeviceModelDatabasePath: /proc/self/dm.db\n")
    result = subprocess.run([sys.executable, str(PROJECT_DIR / "run.py"), "--config", str(path)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "/proc/self/dm.db" in result.stderr
    assert "DeviceModelDatabasePath" in result.stderr and "Traceback" not in result.stderr
