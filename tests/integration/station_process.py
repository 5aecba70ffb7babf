"""Start the real station (``python run.py``, multiprocTCPBase) against a CSMS on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from config.station import PROJECT_DIR


def listener_pid(port: int) -> int | None:
    """The pid of the process that owns the listening TCP socket on ``port`` (Linux /proc)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state = fields[1], fields[3]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inode = fields[9]
                break
        if inode:
            break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd) == target:
                    return int(entry.name)
        except OSError:
            continue
    return None


class StationProcess:
    """One ``run.py`` process with its own config, databases, logs and admin port."""

    def __init__(self, workdir: Path, csms_url: str, admin_port: int, *, evses: int = 2,
                 identity: str = "CP001", extra: dict | None = None) -> None:
        self.workdir = workdir
        self.admin_port = admin_port
        self.identity = identity
        workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "station": {"identity": identity, "serial_number": "SN-IT",
                        "firmware_version": "1.0"},
            "csms": {"url": csms_url},
            "evses": {"count": evses},
            "ocpp": {"CoreDatabasePath": str(workdir / "core"),
                     "DeviceModelDatabasePath": str(workdir / "dm.db"),
                     "MessageLogPath": str(workdir / "log")},
            "actor_system": {"admin_port": admin_port},
            # Any free port: several stations run side by side in the tests.
            "api": {"port": 0},
        }
        for section, values in (extra or {}).items():
            config.setdefault(section, {}).update(values)
        self.config_path = workdir / "station.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen | None = None
        self.output_path = workdir / "station.out"

    def start(self) -> "StationProcess":
        self._out = open(self.output_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, str(PROJECT_DIR / "run.py"), "--config", str(self.config_path)],
            cwd=PROJECT_DIR, stdout=self._out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        return self

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def stop(self, timeout: float = 40) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.process is None:
            return 0
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"run.py did not stop within {timeout}s:\n{self.output()}")
        self._out.close()
        self._wait_admin_gone()
        return code

    def _own_admin(self) -> int | None:
        """The pid listening on our admin port, if it is this station's actor system.

        The admin port was free when the test picked it, but once this station stopped, any
        process on the machine (another test run's station or CSMS, an actor listening on an
        ephemeral port) may listen on it. Such a process must never be killed: its command line
        (inherited by the daemonized admin and every actor from run.py) names our config file.
        """
        pid = listener_pid(self.admin_port)
        if pid is None:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        return pid if str(self.config_path).encode() in cmdline else None

    def kill(self) -> None:
        """Last resort in a finally: end run.py and the actor system it started."""
        admin = self._own_admin()
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if admin is not None:
            try:
                os.killpg(os.getpgid(admin), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._wait_admin_gone()

    def _wait_admin_gone(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self._own_admin() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
