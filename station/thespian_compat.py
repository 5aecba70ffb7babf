"""Is the installed Thespian the one station.actor_system's patches were written against?

station/actor_system.py replaces or wraps private parts of Thespian 4.0.1 (the bind address,
two transmit behaviours, the admin's start-up). A Thespian release that renamed any of them
would leave a patch silently doing nothing, or failing deep inside an actor process. So the
version is pinned (setup.cfg) and, before patching, :func:`check_thespian` verifies that every
attribute a patch replaces, calls or reads exists; a missing one stops the import with
:class:`ThespianIncompatible` naming it. A different version whose attributes all check out
only logs a warning: the pin is what keeps installations on the tested one.

Instance attributes (``_openSockets``, ``_awaitingTXSlot`` ...) exist only on live objects,
which import time does not have; for those the check asks whether the class's own code uses
the name, which is what a rename would change.
"""
from __future__ import annotations

import inspect
import logging
from importlib import metadata
from types import CodeType

log = logging.getLogger(__name__)

THESPIAN_VERSION = "4.0.1"

__all__ = ["THESPIAN_VERSION", "ThespianIncompatible", "check_thespian"]


class ThespianIncompatible(ImportError):
    """The installed Thespian lacks something a patch in station.actor_system relies on."""


def _code_names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):       # nested functions, lambdas, comprehensions
            names |= _code_names(const)
    return names


def names_used_by(cls: type) -> set[str]:
    """Every attribute or global name the methods (and properties) of `cls` mention."""
    names: set[str] = set()
    for value in vars(cls).values():
        function = getattr(value, "fget", None) or getattr(value, "__func__", None) or value
        function = inspect.unwrap(function) if callable(function) else function  # our patches
        code = getattr(function, "__code__", None)
        if code is not None:
            names |= _code_names(code)
    return names


def _problems() -> list[str]:
    from thespian.system import multiprocCommon, timing
    from thespian.system.transport import IPBase, TransmitIntent
    from thespian.system.transport import TCPTransport as tcp

    problems = []

    def need(condition: bool, what: str) -> None:
        if not condition:
            problems.append(what)

    # The bind-address patch.
    need(isinstance(IPBase.IPActorAddress.__dict__.get("bindArgs"), property),
         "IPBase.IPActorAddress.bindArgs (a property)")
    need({"bindname", "af"} <= names_used_by(IPBase.IPActorAddress),
         "IPBase.IPActorAddress attributes bindname and af")
    need(callable(getattr(getattr(IPBase, "thisSystem", None), "add_local_addr", None)),
         "IPBase.thisSystem.add_local_addr()")
    # The transmit-retry patch: retryPeriod stays the 6th argument after self.
    try:
        parameters = list(inspect.signature(TransmitIntent.__init__).parameters)
    except (TypeError, ValueError):
        parameters = []
    need(parameters[6:7] == ["retryPeriod"], "TransmitIntent.__init__(..., retryPeriod) as the"
         " 6th argument")
    need({"transmit_retry_period", "_retryTime", "_awaitingTXSlot"}
         <= names_used_by(TransmitIntent),
         "TransmitIntent attributes transmit_retry_period, _retryTime, _awaitingTXSlot")
    need(callable(getattr(TransmitIntent, "awaitingTXSlot", None)), "TransmitIntent.awaitingTXSlot()")
    # The stranded-transmit patch.
    transport = getattr(tcp, "TCPTransport", None)
    need(callable(getattr(transport, "_processIntentTimeouts", None)),
         "TCPTransport._processIntentTimeouts()")
    need(transport is not None and {"_openSockets", "_transmitIntents", "_waitingTransmits"}
         <= names_used_by(transport),
         "TCPTransport attributes _openSockets, _transmitIntents, _waitingTransmits")
    need(callable(getattr(tcp, "opsKey", None)), "thespian.system.transport.TCPTransport.opsKey()")
    need(callable(getattr(timing, "ExpirationTimer", None)), "thespian.system.timing.ExpirationTimer")
    # The orphan guard: it wraps the function the admin process runs.
    need(callable(getattr(multiprocCommon, "startAdmin", None)) and "startAdmin" in
         names_used_by(multiprocCommon.multiprocessCommon),
         "thespian.system.multiprocCommon.startAdmin (run by multiprocessCommon._startAdmin)")
    return problems


def check_thespian() -> None:
    """Raise ThespianIncompatible unless every patched Thespian attribute exists.

    Raises:
        ThespianIncompatible: Names every missing attribute and the installed version.
    """
    try:
        version = metadata.version("thespian")
    except metadata.PackageNotFoundError:
        version = "unknown"
    problems = _problems()
    if problems:
        raise ThespianIncompatible(
            f"Thespian {version} is installed, but station/actor_system.py patches Thespian"
            f" {THESPIAN_VERSION} and needs: " + "; ".join(problems)
            + f". Install thespian=={THESPIAN_VERSION} (setup.cfg pins it).")
    if version != THESPIAN_VERSION:
        log.warning("Thespian %s is installed; the patches in station/actor_system.py were"
                    " written against %s (every patched attribute was found)", version,
                    THESPIAN_VERSION)
