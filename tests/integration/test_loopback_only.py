"""The actor system listens on loopback only (station/actor_system.py, module docstring).

Thespian unpickles whatever reaches an actor-system socket, so any of them listening on a
routable interface would let the network run code on the station. The integration test starts
a real multiprocTCPBase system with three generations of processes (admin -> actor -> child
actors, plus Thespian's logger), then reads ``/proc`` -- no ``ss``/``netstat`` needed -- to list
every listening TCP socket and every unconnected UDP socket held by any process of the tree,
and requires each to be bound to 127.0.0.1 or ::1.

Finding the tree: the admin double-forks and calls ``setsid()``, so it is *not* a descendant
of the test process. It is found as the owner of the socket listening on the admin port, and
the tree is everything descending from it, plus the test process (its ``ActorSystem`` handle
listens too) and anything descending from the test process.
"""
from __future__ import annotations

import ipaddress
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from thespian.actors import Actor
from thespian.system.transport import IPBase

from station import actor_system
from station.actor_system import (
    connect_to_actor_system,
    restrict_to_address,
    shutdown_actor_system,
    start_actor_system,
)

PROC = Path("/proc")
TCP_LISTEN = "0A"  # include/net/tcp_states.h: TCP_LISTEN = 10
UDP_UNCONNECTED = "07"  # TCP_CLOSE: a UDP socket that accepts datagrams from anyone
N_CHILDREN = 2

# --------------------------------------------------------------------------------------------
# Test actors: module level so the admin process can import them by name.
# --------------------------------------------------------------------------------------------


class PidReporter(Actor):
    """Grandchild of the admin: answers "pid?" with its process id."""

    def receiveMessage(self, message, sender):
        if message == "pid?":
            self.send(sender, os.getpid())


class Spawner(Actor):
    """On "spawn", creates N_CHILDREN PidReporters and replies with every pid of its subtree."""

    def receiveMessage(self, message, sender):
        if message == "spawn":
            self.requester = sender
            self.child_pids = []
            for _ in range(N_CHILDREN):
                self.send(self.createActor(PidReporter), "pid?")
        elif isinstance(message, int):
            self.child_pids.append(message)
            if len(self.child_pids) == N_CHILDREN:
                self.send(self.requester, (os.getpid(), sorted(self.child_pids)))


# --------------------------------------------------------------------------------------------
# /proc readers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    proto: str  # "tcp", "tcp6", "udp", "udp6"
    address: str
    port: int
    inode: int


def _ppid_and_state(pid: int) -> tuple[int, str] | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    fields = stat.rpartition(")")[2].split()
    return int(fields[1]), fields[0]


def _all_ppids() -> dict[int, int]:
    ppids = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            info = _ppid_and_state(int(entry.name))
            if info is not None:
                ppids[int(entry.name)] = info[0]
    return ppids


def _descendants(roots: set[int], ppids: dict[int, int]) -> set[int]:
    found = set(roots)
    grew = True
    while grew:
        children = {pid for pid, ppid in ppids.items() if ppid in found} - found
        found |= children
        grew = bool(children)
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed in between
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _decode_address(hex_addr: str) -> str:
    # The kernel prints each 32-bit word of the address in host byte order (%08X).
    words = [int(hex_addr[i : i + 8], 16) for i in range(0, len(hex_addr), 8)]
    return str(ipaddress.ip_address(struct.pack(f"={len(words)}I", *words)))


def _bound_sockets() -> list[Listener]:
    """Every listening TCP socket and every unconnected, bound UDP socket of this host."""
    found = []
    for proto, wanted_state in (("tcp", TCP_LISTEN), ("tcp6", TCP_LISTEN),
                                ("udp", UDP_UNCONNECTED), ("udp6", UDP_UNCONNECTED)):
        path = PROC / "net" / proto
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            hex_addr, _, hex_port = local.partition(":")
            port = int(hex_port, 16)
            if state == wanted_state and port != 0:
                found.append(Listener(proto, _decode_address(hex_addr), port, inode))
    return found


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def _alive(pid: int) -> bool:
    info = _ppid_and_state(pid)
    return info is not None and info[1] != "Z"


def _wait_gone(pids: set[int], timeout: float) -> set[int]:
    deadline = time.monotonic() + timeout
    while True:
        alive = {pid for pid in pids if _alive(pid)}
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.05)  # waiting for other processes to exit, not for a protocol timer


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_every_actor_system_socket_listens_on_loopback_only(free_port):
    admin_port = free_port()
    me = os.getpid()
    tree: set[int] = set()
    asys = start_actor_system("multiprocTCPBase", admin_port=admin_port)
    try:
        spawner = asys.createActor(Spawner)
        reply = asys.ask(spawner, "spawn", timeout=10)
        assert reply is not None, "actor tree did not answer"
        spawner_pid, child_pids = reply

        sockets = _bound_sockets()
        admin_inodes = {s.inode for s in sockets if s.proto == "tcp" and s.port == admin_port}
        assert admin_inodes, f"nothing listens on admin port {admin_port}"
        ppids = _all_ppids()
        admin_holders = {pid for pid in ppids if _socket_inodes(pid) & admin_inodes}
        # The admin is the holder whose parent is not a holder (Thespian's logger is forked
        # from the admin and inherits the admin's listening socket without closing it).
        admins = {pid for pid in admin_holders if ppids[pid] not in admin_holders}
        assert len(admins) == 1, f"cannot tell the admin among {admin_holders}"
        tree = _descendants(admins | {me}, ppids)

        # The tree found from /proc contains the processes the actors report: the search is
        # not vacuous. admin + logger + spawner + children, at least.
        assert {spawner_pid, *child_pids} <= tree
        assert len(tree - {me}) >= 3 + N_CHILDREN

        inodes_by_pid = {pid: _socket_inodes(pid) for pid in tree}
        ours = [s for s in sockets if any(s.inode in inodes for inodes in inodes_by_pid.values())]
        for pid in (*admins, spawner_pid, *child_pids, me):
            assert any(s.inode in inodes_by_pid[pid] for s in ours), f"pid {pid} listens nowhere?"
        exposed = [s for s in ours if not _is_loopback(s.address)]
        assert not exposed, f"actor-system sockets reachable from the network: {exposed}"
    finally:
        assert shutdown_actor_system(asys), "admin did not release its port"
        leftovers = _wait_gone(tree - {me}, timeout=5.0)
        assert not leftovers, f"processes left behind after shutdown: {sorted(leftovers)}"


class TestRestrictToAddress:
    """restrict_to_address: idempotent, and strict about what it accepts."""

    def test_applying_twice_keeps_one_patch_and_the_same_address(self):
        restrict_to_address("127.0.0.1")
        patched = IPBase.IPActorAddress.__dict__["bindArgs"]
        restrict_to_address("127.0.0.1")
        assert IPBase.IPActorAddress.__dict__["bindArgs"] is patched
        assert patched is not actor_system._ORIGINAL_BIND_ARGS
        assert os.environ["THESPIAN_BASE_IPADDR"] == "127.0.0.1"

    def test_listening_addresses_bind_the_restricted_host_not_any(self):
        restrict_to_address("127.0.0.1")
        listen_addr = IPBase.TCPv4ActorAddress(None, 1234, external=True)
        assert listen_addr.bindname == ("", 1234)  # what unpatched Thespian would bind
        assert listen_addr.bindArgs == (("127.0.0.1", 1234),)
        assert listen_addr.connectArgs == (("127.0.0.1", 1234),)  # advertised == bound

    @pytest.mark.parametrize("address", ["0.0.0.0", "", "localhost", "::1", "10.0.0.300"])
    def test_rejects_anything_but_a_specific_ipv4_literal(self, address):
        before = (actor_system._bind_host, os.environ.get("THESPIAN_BASE_IPADDR"))
        with pytest.raises(ValueError):
            restrict_to_address(address)
        # A rejected call changes nothing.
        assert (actor_system._bind_host, os.environ.get("THESPIAN_BASE_IPADDR")) == before

    def test_a_start_method_other_than_fork_is_refused(self, free_port):
        with pytest.raises(ValueError, match="fork"):
            start_actor_system(admin_port=free_port(),
                               capabilities={"Process Startup Method": "spawn"})


@pytest.mark.integration
def test_a_second_handle_attaches_and_no_stray_admin_is_started(free_port):
    admin_port = free_port()
    # Thespian itself would start a fresh admin on a port where none runs: refused here.
    with pytest.raises(ConnectionRefusedError):
        connect_to_actor_system("multiprocTCPBase", admin_port)
    asys = start_actor_system("multiprocTCPBase", admin_port=admin_port)
    other = None
    try:
        # ... and starting "again" on a busy port must not silently join that admin.
        with pytest.raises(RuntimeError, match="already in use"):
            start_actor_system("multiprocTCPBase", admin_port=admin_port)
        other = connect_to_actor_system("multiprocTCPBase", admin_port)
        reporter = other.createActor(PidReporter)
        assert isinstance(other.ask(reporter, "pid?", timeout=10), int)
    finally:
        assert shutdown_actor_system(asys)
        assert shutdown_actor_system(other)  # the system is gone: closes the handle only
        assert shutdown_actor_system(asys)  # idempotent
