"""``csms.url: embedded``: the test CSMS of simulators/csms/ in a process of its own.

It listens on a free loopback port, answers the station as a permissive CSMS would, and logs
every message it receives to a file next to the message log, so a newcomer can see both sides.
"""
from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from config.station import PROJECT_DIR, StationConfig
from station.orphan_guard import die_with_parent

START_TIMEOUT_S = 20


@dataclass
class EmbeddedCsms:
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, config: StationConfig) -> "EmbeddedCsms":
        log_dir = config.message_log_dir
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / "embedded-csms.log"
        port_file = Path(tempfile.mkdtemp(prefix="ocpp-csms-")) / "port"
        command = [sys.executable, "-m", "simulators.csms", "--host", "127.0.0.1", "--port", "0",
                   "--port-file", str(port_file)]
        password = config.csms.basic_auth_password
        if password:
            command += ["--password", f"{config.station.identity}={password}"]
        with open(log_path, "ab") as out:
            process = subprocess.Popen(command, cwd=PROJECT_DIR, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                       # Its own session: a Ctrl-C in the terminal must stop the
                                       # station first, which then closes its websocket cleanly.
                                       start_new_session=True,
                                       # A SIGKILL of run.py must not leave it listening: the
                                       # same guard as the actor processes (orphan_guard).
                                       preexec_fn=functools.partial(die_with_parent,
                                                                    os.getpid()))
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if process.poll() is not None:
                raise RuntimeError(f"the embedded CSMS exited with {process.returncode}; "
                                   f"see {log_path}")
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the embedded CSMS did not start in time")
            time.sleep(0.05)
        port = int(port_file.read_text().strip())
        port_file.unlink()
        port_file.parent.rmdir()
        return cls(process, port, log_path)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
