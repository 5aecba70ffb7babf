"""What the charging benchmarks share: a real station (``run.py``, multiprocTCPBase) with N
EVSEs against the test CSMS on 127.0.0.1, driven through the control API.

Not a test fixture: the benchmarks run by hand and print figures (see bench/boot_128.py).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.procstats import cpu_seconds, tree_pids
from bench.stats import collapsed_profile
from simulators.csms import CsmsServer
from tests.conftest import free_port
from tests.integration.station_process import StationProcess, listener_pid

__all__ = ["BenchStation", "GetVariablesProbe", "SessionProfile", "cpu_reading", "cpu_split",
           "load_average"]

TX_STARTED_TIMEOUT_S = 120


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _connected_pid(remote_port: int) -> int | None:
    """The pid owning an ESTABLISHED loopback TCP connection to ``remote_port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == remote_port:
                inodes.add(f"socket:[{fields[9]}]")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (entry / "fd").iterdir()):
                return int(entry.name)
        except OSError:
            continue
    return None


class BenchStation:
    """The test CSMS plus one ``run.py`` with ``evses`` EVSEs, logging at WARNING.

    Use as a context manager; :meth:`boot` waits for every EVSE's StatusNotification.
    """

    def __init__(self, workdir: Path, evses: int, *, identity: str, ocpp: dict | None = None):
        self.evses = evses
        self.identity = identity
        self.csms = CsmsServer(log=lambda line: None, heartbeat_interval=300)
        self.api_port = free_port()
        self._workdir = workdir
        self._ocpp = ocpp or {}
        self.station: StationProcess | None = None
        self.session_pid: int | None = None

    def __enter__(self) -> "BenchStation":
        self.csms.start()
        self.station = StationProcess(
            self._workdir, self.csms.url_base, free_port(), evses=self.evses,
            identity=self.identity,
            extra={"logging": {"level": "WARNING"}, "api": {"port": self.api_port},
                   "ocpp": self._ocpp})
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            if self.station is not None:
                code = self.station.stop(timeout=90)
                if code != 0:
                    print(f"warning: run.py exited with {code}")
        finally:
            if self.station is not None:
                self.station.kill()
            self.csms.stop()

    @property
    def core_db(self) -> Path:
        return self._workdir / "core" / "cp.db"

    def boot(self, timeout: float = 120) -> float:
        """Start run.py; return the seconds until every EVSE's StatusNotification arrived."""
        started = time.monotonic()
        self.station.start()
        self.csms.wait_connected(self.identity, timeout=timeout)
        deadline = started + timeout
        seen: set[int] = set()
        while len(seen) < self.evses:
            seen |= {r.payload["evseId"] for r in self.csms.received("StatusNotification",
                                                                      self.identity)}
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(seen)} of {self.evses} EVSEs reported")
            time.sleep(0.1)
        self.session_pid = _connected_pid(self.csms.port)
        return time.monotonic() - started

    def set_variables(self, settings: dict[tuple[str, str], str]) -> None:
        """SetVariables from the CSMS; every one must be Accepted."""
        result = self.csms.call(self.identity, "SetVariables", {"setVariableData": [
            {"component": {"name": c}, "variable": {"name": v}, "attributeValue": value}
            for (c, v), value in settings.items()]}, timeout=30)
        statuses = [r["attributeStatus"] for r in result["setVariableResult"]]
        if any(s != "Accepted" for s in statuses):
            raise RuntimeError(f"SetVariables answered {result}")

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.api_port}/api{path}", data=data, method=method,
            headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{method} {path}: {error.code} {error.read()!r}") from None

    def wait_api(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.api("GET", "/evses/1")
                return
            except (OSError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def start_sessions(self, workers: int = 8) -> float:
        """Plug in, present a card and let the EV charge at every EVSE (control API, in
        parallel); return the seconds until the CSMS saw every transaction Charging."""
        self.wait_api()

        def session(evse_id: int) -> None:
            self.api("POST", f"/evses/{evse_id}/plug-in", {"connector_id": 1})
            self.api("POST", f"/evses/{evse_id}/token",
                     {"id_token": f"BENCH{evse_id:04d}", "type": "ISO14443"})
            self.api("POST", f"/evses/{evse_id}/ev", {"state": "charging"})

        started = time.monotonic()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(session, range(1, self.evses + 1)))
        self.wait_charging(set(range(1, self.evses + 1)))
        return time.monotonic() - started

    def wait_charging(self, evse_ids: set[int], timeout: float = TX_STARTED_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            # The evse field is only required in a transaction's first event (E01.FR.16).
            evse_of, charging = {}, set()
            for record in self.csms.received("TransactionEvent", self.identity):
                info = record.payload["transactionInfo"]
                if "evse" in record.payload:
                    evse_of[info["transactionId"]] = record.payload["evse"]["id"]
                if info.get("chargingState") == "Charging":
                    charging.add(evse_of.get(info["transactionId"]))
            if evse_ids <= charging:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"EVSEs never Charging: {sorted(evse_ids - charging)[:10]}")
            time.sleep(0.25)

    def stop_sessions(self, workers: int = 8) -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda e: self.api("POST", f"/evses/{e}/plug-out"),
                          range(1, self.evses + 1)))

    def pids(self) -> dict[str, set[int]]:
        """The station's processes: run.py's tree and the (setsid) actor system's tree."""
        admin = listener_pid(self.station.admin_port)
        actors = set(tree_pids(admin)) if admin else set()
        return {"run.py": set(tree_pids(self.station.process.pid)) - actors,
                "actors": actors}


class GetVariablesProbe:
    """A thread sending GetVariables from the CSMS every ``period`` s and timing each answer.

    The round trip is measured around ``CsmsServer.call``: from the moment the CSMS thread hands
    the CALL to its event loop to the moment the CALLRESULT is back (the CSMS's own overhead of
    a few hundred microseconds included).
    """

    REQUEST = {"getVariableData": [
        {"component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}},
        {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}

    def __init__(self, csms: CsmsServer, identity: str, period: float = 0.1):
        self._csms, self._identity, self._period = csms, identity, period
        self.round_trips: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="getvariables-probe", daemon=True)

    def __enter__(self) -> "GetVariablesProbe":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            sent = time.perf_counter()
            try:
                self._csms.call(self._identity, "GetVariables", self.REQUEST, timeout=30)
                self.round_trips.append(time.perf_counter() - sent)
            except Exception as exc:          # a figure, not a failure: count and go on
                self.errors.append(f"{type(exc).__name__}: {exc}")
            next_at = max(next_at + self._period, time.monotonic())
            self._stop.wait(next_at - time.monotonic())


def cpu_split(pids: dict[str, set[int]], before: dict[int, float], after: dict[int, float],
              session_pid: int | None) -> dict[str, float]:
    """CPU seconds used between two :func:`cpu_seconds` readings, by kind of process."""
    used = {pid: after[pid] - before.get(pid, 0.0) for pid in after}
    split = {"run.py (API server)": sum(used.get(p, 0.0) for p in pids["run.py"])}
    split["CsmsSession"] = used.get(session_pid, 0.0) if session_pid else 0.0
    split["other actors (Evses, Root, admin, ...)"] = sum(
        used.get(p, 0.0) for p in pids["actors"] if p != session_pid)
    split["bench + test CSMS (this process)"] = used.get(os.getpid(), 0.0)
    return split


def cpu_reading(pids: dict[str, set[int]]) -> dict[int, float]:
    return cpu_seconds(pids["run.py"] | pids["actors"] | {os.getpid()})


class SessionProfile:
    """``py-spy record`` of the CsmsSession process for ``seconds`` (0: off), in the background.

    py-spy is not a project dependency: ``pip install py-spy`` into the interpreter running the
    benchmark. ``--idle`` keeps the samples where the process waits (fsync, select), which is
    where a one-message-in-flight queue spends its time; ``--nonblocking`` samples without
    stopping the process (py-spy's default pauses it 100 times a second, which slowed the
    CsmsSession visibly in a first try).
    """

    def __init__(self, pid: int | None, seconds: float, output: Path):
        self._pid, self._seconds, self.output = pid, seconds, output
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "SessionProfile":
        py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if self._seconds and self._pid and Path(py_spy).exists():
            self._process = subprocess.Popen(
                [py_spy, "record", "-p", str(self._pid), "-d", str(int(self._seconds)),
                 "-r", "100", "--idle", "--nonblocking", "-f", "raw", "-o", str(self.output)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        elif self._seconds:
            print("no py-spy next to this interpreter: not profiling")
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is not None:
            if self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)     # py-spy writes what it has
            self._process.wait(30)

    def print_summary(self, top: int = 18) -> None:
        if self._process is None or not self.output.exists():
            return
        print(f"CsmsSession profile ({self._seconds:.0f} s, py-spy --idle; raw stacks in "
              f"{self.output}): inclusive / self share of samples")
        with open(self.output) as lines:
            for frame, inclusive, own in collapsed_profile(lines, top):
                print(f"  {inclusive:5.1f}% {own:5.1f}%  {frame}")
