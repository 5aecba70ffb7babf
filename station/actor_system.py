"""Start, attach to and stop the Thespian actor system, on loopback only; patch its transmits.

Theory of operation
-------------------
**The threat.** ``multiprocTCPBase`` runs every actor in its own process. Each of those
processes -- the admin, the logger, every actor, and also the *external* handle that a
script or test holds through ``ActorSystem(...)`` -- owns a TCP socket that listens for
Thespian traffic, and everything that arrives there is unpickled. Unpickling bytes from the
network is remote code execution: whoever can open a TCP connection to any of those ports
runs code as the station user. Out of the box Thespian 4.0.1 binds every one of these sockets
to ``''`` (INADDR_ANY, all interfaces), and ``THESPIAN_BASE_IPADDR`` does not change that: it
only sets the address the actors *advertise* to each other. On a station with a WAN or
cellular uplink the whole actor tree would be reachable from the network.

**Where Thespian picks the bind address** (thespian/system/transport/IPBase.py):
``IPActorAddress.__init__`` computes

* ``sockname`` -- the address peers connect to; its host is ``THESPIAN_BASE_IPADDR`` when
  set, otherwise the source address of a route probe towards 8.8.8.8;
* ``bindname`` -- ``('', port)`` for every "external" address, i.e. for every listening
  socket Thespian creates;

and every ``bind()`` Thespian does goes through the ``IPActorAddress.bindArgs`` property:
``TCPTransport.__init__`` (the listening socket of the admin, the logger, each actor and
each external handle), ``TCPTransport.probeAdmin`` (a test bind, closed at once, that asks
"is an admin already on this port?") and ``UDPTransport`` (multiprocUDPBase, not used here).
``bindArgs`` has exactly one definition and no subclass overrides it.

**The patch** (``restrict_to_address``) therefore does two things, and both are needed:

1. It replaces the ``IPActorAddress.bindArgs`` property so that every IPv4 bind uses the
   chosen host instead of ``''``. Patching the *property* rather than the ``bindname``
   attribute matters: ``bindname`` is pickled inside every actor address and travels between
   processes, while the property is evaluated by the process that binds, so it also holds
   for addresses that were built elsewhere.
2. It sets ``THESPIAN_BASE_IPADDR`` to the same host, so the address actors advertise is the
   address they listen on. Binding 127.0.0.1 while advertising the route-probe address (what
   you get by patching the bind alone) leaves the admin unreachable: the start-up probe and
   every send go to an address nobody listens on.

**Every process of the tree.** Thespian starts the admin, the logger and every actor with
``multiprocessing`` using the start method named by the ``Process Startup Method``
capability (default ``'fork'``). Under ``fork`` a child is a copy of its parent, patched class
included, so patching the process that starts the system covers the admin (forked from it),
the logger and the actors (forked from the admin) and their children (forked from their
parents). Under ``spawn`` a child would re-import Thespian unpatched *and* build its transport
before it imports the actor's module, so importing this module from actor modules would not
help; this module therefore always passes ``'fork'`` and rejects any other start method.
Importing this module applies the loopback restriction at once, so a process that imports it
never binds INADDR_ANY, even if it goes on to create an ``ActorSystem`` by hand.

Nothing here checks at run time that the sockets ended up where they should;
tests/integration/test_loopback_only.py proves it by reading ``/proc`` for the whole tree.

A multi-host convention is possible on an address the operator names
(``bind_address="192.0.2.10"``): then the tree listens on that one address only. Listening on
all interfaces needs ``bind_address="0.0.0.0"`` spelled out, and logs a warning. Either way the
network between the hosts must be trusted, because Thespian has no authentication.

**Thespian's version.** Every patch here reaches into private parts of Thespian 4.0.1, the
version setup.cfg pins. Before patching, ``station.thespian_compat.check_thespian`` checks that
each attribute a patch replaces or reads exists and stops the import naming any that does not.

**Two transmit patches**, also applied at import (see their sections below): a failed transmit
is retried after 250 ms instead of 35 s, and a transmit left waiting for a socket that will not
come back goes on a fresh one. Both once let one message to an actor arrive long after later
ones.
"""
from __future__ import annotations

import errno
import functools
import ipaddress
import itertools
import logging
import os
import socket
import time
from datetime import timedelta
from typing import Any

from station.thespian_compat import check_thespian

# Before any patch: a Thespian without the attributes below stops the import here, naming them.
check_thespian()

from thespian.actors import ActorSystem  # noqa: E402 - after the check on purpose
from thespian.system.timing import ExpirationTimer  # noqa: E402
from thespian.system.transport import IPBase, TransmitIntent  # noqa: E402
from thespian.system.transport.TCPTransport import TCPTransport, opsKey  # noqa: E402

from station import orphan_guard  # noqa: E402

# A SIGKILLed starter or admin must not leave actors running for ever (see orphan_guard).
orphan_guard.install()

__all__ = [
    "DEFAULT_BIND_ADDRESS",
    "ThespianNoiseFilter",
    "connect_to_actor_system",
    "logging_config",
    "restrict_to_address",
    "shutdown_actor_system",
    "start_actor_system",
]

log = logging.getLogger(__name__)

DEFAULT_BIND_ADDRESS = "127.0.0.1"

# Capability names, spelled as Thespian 4.0.1 reads them.
_CAP_ADMIN_PORT = "Admin Port"  # TCPTransport.getAdminAddr
_CAP_START_METHOD = "Process Startup Method"  # multiprocCommon.get_multiproc_context
_CAP_REMOTE_SOURCES = "AllowRemoteActorSources"  # admin/convention.py

_MULTIPROC_TCP = "multiprocTCPBase"
_SIMPLE = "simpleSystemBase"
_ENV_BASE_IPADDR = "THESPIAN_BASE_IPADDR"

# How long shutdown_actor_system waits for the admin to release its port after Thespian's own
# shutdown (which itself gives up after 10 s) has returned.
_PORT_RELEASE_TIMEOUT = 5.0

# --------------------------------------------------------------------------------------------
# The bind-address patch
# --------------------------------------------------------------------------------------------

_ORIGINAL_BIND_ARGS = IPBase.IPActorAddress.__dict__["bindArgs"]

# The host every IPv4 listening socket binds to; None means "as Thespian decides" (only after
# an explicit bind_address="0.0.0.0").
_bind_host: str | None = None


def _restricted_bind_args(self: IPBase.IPActorAddress) -> tuple[tuple, ...]:
    """Replacement for ``IPActorAddress.bindArgs``: the same tuple, with the host forced.

    Every IPv4 bind Thespian does is a local listen (or the admin probe, which must test the
    same address the admin listens on), so the host is replaced whatever it was, not only
    when it is ``''``: the invariant "binds only `_bind_host`" holds without exceptions.
    """
    bindname = self.bindname
    if _bind_host is None or self.af != socket.AF_INET:
        # multiprocTCPBase creates only AF_INET addresses; leave anything else untouched (the
        # integration test would see an IPv6 listener).
        return (bindname,)
    return ((_bind_host, *bindname[1:]),)


_PATCHED_BIND_ARGS = property(_restricted_bind_args, doc=_restricted_bind_args.__doc__)


def _ipv4_literal(address: str) -> str:
    try:
        return str(ipaddress.IPv4Address(address))
    except ValueError:
        raise ValueError(
            f"actor-system bind address must be an IPv4 literal such as 127.0.0.1, got {address!r}"
            " (multiprocTCPBase speaks IPv4 only; host names are not resolved here on purpose)"
        ) from None


def restrict_to_address(address: str = DEFAULT_BIND_ADDRESS) -> None:
    """Make every Thespian socket of this process and its future children listen on `address`.

    Installs the ``IPActorAddress.bindArgs`` patch (once; calling again only changes the
    address) and sets ``THESPIAN_BASE_IPADDR`` so that actors advertise the address they listen
    on. Processes forked afterwards inherit both. Call it before the actor system (or a handle
    to it) is created; sockets that already exist are not moved.

    Args:
        address: An IPv4 literal. Not ``0.0.0.0``: listening everywhere is requested through
            ``start_actor_system(bind_address="0.0.0.0")`` only.

    Raises:
        ValueError: `address` is not an IPv4 literal, or is the unspecified address.
    """
    global _bind_host
    address = _ipv4_literal(address)
    if ipaddress.IPv4Address(address).is_unspecified:
        raise ValueError("restrict_to_address('0.0.0.0') would listen on every interface")
    if IPBase.IPActorAddress.__dict__["bindArgs"] is not _PATCHED_BIND_ARGS:
        IPBase.IPActorAddress.bindArgs = _PATCHED_BIND_ARGS
    _bind_host = address
    os.environ[_ENV_BASE_IPADDR] = address
    # ThisSystem decides which addresses count as "this host" from the interfaces it saw at
    # import; an operator-named address must be among them or Thespian treats its own admin
    # as remote.
    IPBase.thisSystem.add_local_addr(address)


def _listen_on_all_interfaces() -> None:
    """Undo the restriction for an explicit ``bind_address="0.0.0.0"``."""
    global _bind_host
    log.warning(
        "actor system listens on ALL interfaces: anyone who can reach its ports can run code"
        " on this station (Thespian unpickles what it receives)"
    )
    _bind_host = None
    # Let Thespian choose the advertised address itself (route probe).
    os.environ.pop(_ENV_BASE_IPADDR, None)


# Secure by default: a process that imports this module never listens on INADDR_ANY.
restrict_to_address(DEFAULT_BIND_ADDRESS)

# --------------------------------------------------------------------------------------------
# The transmit-retry patch
# --------------------------------------------------------------------------------------------

# Thespian 4.0.1 retries a transmit that failed (the peer closed the socket before its ACK,
# which the TCP transport's socket reuse makes happen when both ends replace their idle socket
# at once) after attempts x TRANSMIT_RETRY_PERIOD, 35 s; meanwhile newer messages to the same
# actor go ahead on a fresh socket. A StatusNotification or TransactionEvent then came 35 s
# late, after the ones that followed it. The Evse and the CsmsSession no longer rely on the
# transport for order or delivery (station/evse_delivery.py); this
# shortens the stall for every other message. The period is a default argument of
# TransmitIntent.__init__, bound when Thespian was imported, so setting the module constant
# would change nothing: the patch sets the attribute the retry reads.
TRANSMIT_RETRY_PERIOD = timedelta(milliseconds=250)
_ORIGINAL_INTENT_INIT = TransmitIntent.__init__
_intent_numbers = itertools.count()


@functools.wraps(_ORIGINAL_INTENT_INIT)  # check_thespian reads the original's signature
def _intent_init(self, *args: Any, **kwargs: Any) -> None:
    _ORIGINAL_INTENT_INIT(self, *args, **kwargs)
    self._station_order = next(_intent_numbers)            # creation order, for the release
    if "retryPeriod" not in kwargs and len(args) < 6:      # the caller left the default
        self.transmit_retry_period = TRANSMIT_RETRY_PERIOD


if TransmitIntent.__init__ is _ORIGINAL_INTENT_INIT:
    TransmitIntent.__init__ = _intent_init

# --------------------------------------------------------------------------------------------
# The stranded-transmit patch
# --------------------------------------------------------------------------------------------

# With socket reuse, a transmit to an actor that another transmit to the same actor holds the
# socket for waits "for a TX slot", and goes only when an idle socket to that actor shows up in
# _openSockets. When the peer closes that socket instead (it replaced its own idle socket for
# us), none ever shows up: the waiting message stays put until the *next* message to that
# actor opens a fresh socket and overtakes it. Seen in full test runs: an Evse's Available
# (plug-out) reached the CsmsSession after the next plug-in's Occupied. The patch checks, each
# time the transport looks at its timers, for actors with waiting transmits, no transmit
# holding a socket to them and no idle socket: the oldest of those transmits goes at once, on
# a fresh socket, and the others keep waiting behind it.
_ORIGINAL_PROCESS_TIMEOUTS = TCPTransport._processIntentTimeouts


def release_stranded(transport: Any) -> list[Any]:
    """Let the oldest waiting transmit to each actor nobody is sending to go now.

    Returns the transmits released (for tests)."""
    open_sockets = getattr(transport, "_openSockets", None)
    if open_sockets is None:
        return []                     # REUSE_SOCKETS off: transmits never wait for a slot
    busy = {opsKey(i.targetAddr) for i in transport._transmitIntents.values()
            if hasattr(i, "socket")}
    oldest: dict[Any, Any] = {}
    for intent in transport._waitingTransmits:
        key = opsKey(intent.targetAddr)
        if key in busy or key in open_sockets:
            continue
        if key not in oldest or (getattr(intent, "_station_order", 0)
                                 < getattr(oldest[key], "_station_order", 0)):
            oldest[key] = intent
    released = []
    for intent in oldest.values():
        # The oldest may be one retrying after a failure: its own timer sends it, in order.
        if getattr(intent, "_awaitingTXSlot", False):
            del intent._awaitingTXSlot
            intent._retryTime = ExpirationTimer(timedelta(0))
            released.append(intent)
    return released


@functools.wraps(_ORIGINAL_PROCESS_TIMEOUTS)
def _process_intent_timeouts(self: Any) -> Any:
    release_stranded(self)
    return _ORIGINAL_PROCESS_TIMEOUTS(self)


if TCPTransport._processIntentTimeouts is _ORIGINAL_PROCESS_TIMEOUTS:
    TCPTransport._processIntentTimeouts = _process_intent_timeouts

# --------------------------------------------------------------------------------------------
# Logging
# --------------------------------------------------------------------------------------------


class ThespianNoiseFilter(logging.Filter):
    """Keep Thespian's own records below `thespian_level` out of the actor log.

    Under multiprocTCPBase every actor forwards each record at or above the *lowest* level
    found anywhere in the logging config to the logger process, which hands it to
    ``Logger.handle()``. ``handle()`` does not look at logger levels, so a ``"Thespian":
    {"level": ...}`` entry would not stop anything there: only handler levels and filters
    do. This filter is that stop.

    It also gives every record an ``actorAddress`` attribute (Thespian sets it only on records
    forwarded from actors), so a format string may use ``%(actorAddress)s``.
    """

    def __init__(self, thespian_level: int | str = logging.WARNING) -> None:
        super().__init__()
        self.thespian_level = logging._checkLevel(thespian_level)  # accepts "WARNING" or 30

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "actorAddress"):
            record.actorAddress = "-"
        name = record.name
        if name == "Thespian" or name.startswith("Thespian."):
            return record.levelno >= self.thespian_level
        # SQLAlchemy logs every statement at INFO once the root logger is at INFO.
        if name.startswith("sqlalchemy."):
            return record.levelno >= logging.WARNING
        return True


def logging_config(level: int | str = "INFO", logfile: str | None = None) -> dict[str, Any]:
    """Build the ``logDefs`` dict for ``ActorSystem``.

    Never pass ``logDefs=False`` to multiprocTCPBase: each actor process computes its log
    level from the dict at start and dies on ``False``.

    Args:
        level: Lowest level of the actors' records that is written.
        logfile: Write to this file (size-rotated: 10 MiB, 3 backups) instead of stderr. The
            file is opened by Thespian's logger process, so a relative path is resolved
            against the working directory of the process that started the system.

    Returns:
        A ``logging.config.dictConfig`` dict. Thespian's own records are written from
        WARNING up whatever `level` says (see ``ThespianNoiseFilter``).
    """
    level_name = logging.getLevelName(logging._checkLevel(level))
    if logfile is None:
        handler: dict[str, Any] = {"class": "logging.StreamHandler", "stream": "ext://sys.stderr"}
    else:
        handler = {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": os.path.abspath(logfile),
            "maxBytes": 10 * 1024 * 1024,
            "backupCount": 3,
            "encoding": "utf-8",
        }
    handler.update(level=level_name, formatter="actor", filters=["thespian_noise"])
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            # A class object, not a dotted path: nothing needs importing in the logger process.
            "thespian_noise": {"()": ThespianNoiseFilter, "thespian_level": "WARNING"},
        },
        "formatters": {
            "actor": {
                "format": "%(asctime)s %(levelname)-7s %(process)d %(name)s"
                " %(actorAddress)s: %(message)s",
            },
        },
        "handlers": {"actor_log": handler},
        "loggers": {"sqlalchemy": {"level": "WARNING"}},
        "root": {"level": level_name, "handlers": ["actor_log"]},
    }


# --------------------------------------------------------------------------------------------
# Start / attach / stop
# --------------------------------------------------------------------------------------------


def port_in_use(host: str, port: int) -> bool:
    """True when something listens on (host, port); the same test Thespian's probeAdmin does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _prepare_bind(bind_address: str) -> str:
    """Apply the bind policy for `bind_address`; returns the host to probe ports on."""
    if bind_address == "0.0.0.0":  # only when literally asked for
        _listen_on_all_interfaces()
        return "127.0.0.1"
    restrict_to_address(bind_address)
    return _ipv4_literal(bind_address)


def _check_start_method(capabilities: dict | None) -> None:
    method = (capabilities or {}).get(_CAP_START_METHOD, "fork")
    if method != "fork":
        # Under spawn the children would import Thespian afresh, without the bind patch.
        raise ValueError(
            f"{_CAP_START_METHOD!r} must be 'fork' (got {method!r}): see module docstring")


def _multiproc_capabilities(admin_port: int, capabilities: dict | None) -> dict:
    _check_start_method(capabilities)
    caps = dict(capabilities or {})
    caps[_CAP_START_METHOD] = "fork"
    caps[_CAP_ADMIN_PORT] = admin_port
    # Defence in depth: no remote system may load actor source code into ours.
    caps.setdefault(_CAP_REMOTE_SOURCES, "No")
    return caps


def start_actor_system(
    base: str = _MULTIPROC_TCP,
    admin_port: int | None = None,
    bind_address: str = DEFAULT_BIND_ADDRESS,
    capabilities: dict | None = None,
    logfile: str | None = None,
    log_level: int | str = "INFO",
) -> ActorSystem:
    """Start a new actor system and return a handle to it.

    For multiprocTCPBase this starts a new admin process and refuses to join one that is
    already running on `admin_port` (that one could run other code, or listen elsewhere):
    use ``connect_to_actor_system`` to attach on purpose. The admin outlives the calling
    process, so the caller must call ``shutdown_actor_system`` (in a ``finally``).

    Args:
        base: ``"multiprocTCPBase"`` (production) or ``"simpleSystemBase"`` (actor tests).
        admin_port: TCP port of the admin. None picks a free port; read it back from
            ``asys.capabilities["Admin Port"]``.
        bind_address: IPv4 literal every actor-system socket listens on. Keep the default
            loopback unless actors on other hosts must reach this one; ``"0.0.0.0"`` (all
            interfaces) only when literally asked for.
        capabilities: Extra capabilities. ``"Process Startup Method"`` may only be
            ``"fork"``; ``"Admin Port"`` is set from `admin_port`.
        logfile: Actor log file; None logs to stderr. For simpleSystemBase, None leaves the
            calling process's logging alone (the actors log through it).
        log_level: Lowest level of actor records written (see ``logging_config``).

    Returns:
        The ``ActorSystem`` handle (a private one, not Thespian's process-wide singleton:
        the singleton would silently reuse the first system's port for later systems).

    Raises:
        ValueError: Unknown base, bad bind address, or a start method other than fork.
        RuntimeError: Something already listens on `admin_port`.
    """
    if base == _SIMPLE:
        log_defs: dict | bool = logging_config(log_level, logfile) if logfile else False
        return ActorSystem(_SIMPLE, dict(capabilities or {}), logDefs=log_defs,
                           transientUnique=True)
    if base != _MULTIPROC_TCP:
        raise ValueError(f"unsupported actor-system base {base!r}")
    _check_start_method(capabilities)  # before anything changes

    probe_host = _prepare_bind(bind_address)
    if admin_port is None:
        admin_port = _free_port(probe_host)
    elif port_in_use(probe_host, admin_port):
        raise RuntimeError(
            f"admin port {admin_port} is already in use (a leftover Thespian admin?);"
            " stop it, choose another port, or use connect_to_actor_system to join it"
        )
    caps = _multiproc_capabilities(admin_port, capabilities)
    asys = ActorSystem(_MULTIPROC_TCP, caps, logDefs=logging_config(log_level, logfile),
                       transientUnique=True)
    asys._station_admin = (probe_host, admin_port)  # for shutdown_actor_system
    log.info("actor system %s started; admin on %s:%d", _MULTIPROC_TCP, bind_address, admin_port)
    return asys


def connect_to_actor_system(
    base: str = _MULTIPROC_TCP,
    admin_port: int | None = None,
    bind_address: str = DEFAULT_BIND_ADDRESS,
) -> ActorSystem:
    """Attach to an actor system that is already running (tests, tools).

    The handle itself listens for replies, so the same loopback restriction applies to it.

    Args:
        base: Must be ``"multiprocTCPBase"``; a simpleSystemBase lives inside one process and
            cannot be attached to.
        admin_port: The running admin's port.
        bind_address: Same meaning as for ``start_actor_system``.

    Returns:
        A private ``ActorSystem`` handle. Dropping it leaves the system running; calling
        ``shutdown_actor_system`` on it stops the whole system.

    Raises:
        ValueError: Wrong base or no port.
        ConnectionRefusedError: Nothing listens on `admin_port` (Thespian would otherwise
            quietly start a fresh, empty admin there).
    """
    if base != _MULTIPROC_TCP:
        raise ValueError(f"only {_MULTIPROC_TCP} systems can be attached to, not {base!r}")
    if admin_port is None:
        raise ValueError("admin_port is required to attach to a running actor system")
    probe_host = _prepare_bind(bind_address)
    if not port_in_use(probe_host, admin_port):
        raise ConnectionRefusedError(f"no actor-system admin listens on {probe_host}:{admin_port}")
    caps = _multiproc_capabilities(admin_port, None)
    asys = ActorSystem(_MULTIPROC_TCP, caps, logDefs=logging_config(), transientUnique=True)
    asys._station_admin = (probe_host, admin_port)  # for shutdown_actor_system
    return asys


def shutdown_actor_system(asys: ActorSystem | None, timeout: float = _PORT_RELEASE_TIMEOUT) -> bool:
    """Stop the actor system behind `asys`, every actor included. Safe to call twice.

    Thespian's own shutdown waits at most 10 s for the admin's confirmation; after it, this
    waits up to `timeout` seconds for the admin to release its port, so a caller that starts
    the next system on the same port does not join a dying one.

    Args:
        asys: The handle from ``start_actor_system``/``connect_to_actor_system``, or None.
        timeout: Seconds to wait for the admin port to be released (multiprocTCPBase).

    Returns:
        True when the system is gone (or was already), False when the admin port was still in
        use at the deadline or Thespian's shutdown raised; both cases are logged.
    """
    if asys is None or getattr(asys, "_systemBase", None) is None:
        return True
    admin = getattr(asys, "_station_admin", None)  # (host, port); None for simpleSystemBase
    base = asys._systemBase
    try:
        asys.shutdown()
    except Exception:  # noqa: BLE001 - teardown must go on; the error is logged, not hidden
        log.exception("actor system shutdown raised")
        asys._systemBase = None  # a second call must not try again
        return False
    finally:
        # Thespian skips closing the handle's own listening socket when the admin cannot be
        # reached (already stopped through another handle); close it here. close() is
        # idempotent.
        transport = getattr(base, "transport", None)
        if transport is not None:
            transport.close()
    if admin is None:
        return True
    probe_host, admin_port = admin
    deadline = time.monotonic() + timeout
    while port_in_use(probe_host, admin_port):
        if time.monotonic() >= deadline:
            log.error("actor-system admin still holds port %d %.1f s after shutdown",
                      admin_port, timeout)
            return False
        time.sleep(0.02)  # polling another process's exit, not a protocol timer
    return True
