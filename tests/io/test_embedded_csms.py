"""The embedded CSMS (``csms.url: embedded``) ends with run.py, also when run.py is killed
(issue #9, orphans): a SIGKILL leaves no CSMS listening on loopback."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from config.station import PROJECT_DIR

GONE_WITHIN_S = 20.0

# Stands in for run.py: starts the embedded CSMS, prints its pid, then waits to be killed.
_STARTER = """
import sys, time
from config.station import load_config
from station.embedded_csms import EmbeddedCsms
csms = EmbeddedCsms.start(load_config(sys.argv[1]))
print(csms.process.pid, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_killed_starter_takes_the_embedded_csms_with_it(tmp_path):
    config = tmp_path / "station.yaml"
    config.write_text(f"ocpp:\n  MessageLogPath: {tmp_path}/logs\n")
    starter = subprocess.Popen([sys.executable, "-c", _STARTER, str(config)], cwd=PROJECT_DIR,
                               stdout=subprocess.PIPE, text=True)
    csms_pid = None
    try:
        csms_pid = int(starter.stdout.readline())
        assert _alive(csms_pid)
        starter.send_signal(signal.SIGKILL)
        starter.wait()
        deadline = time.monotonic() + GONE_WITHIN_S
        while _alive(csms_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(csms_pid), "the embedded CSMS outlived the process that started it"
    finally:
        if starter.poll() is None:
            starter.kill()
            starter.wait()
        starter.stdout.close()
        if csms_pid is not None and _alive(csms_pid):
            os.kill(csms_pid, signal.SIGKILL)
