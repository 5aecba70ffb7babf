"""station.actor_system's stranded-transmit patch, on Thespian's real TCP transport.

Two real ``TCPTransport`` objects in this process (the kind an external ``ActorSystem`` handle
uses) talk over real loopback sockets. The sender reuses its socket to the receiver (Thespian's
REUSE_SOCKETS), so a second and third transmit to the receiver queue behind the one that holds
the socket: that part is Thespian's own code, reached through ``scheduleTransmit``.

The stranded state itself comes from a race (README, "Actor messages: delivery and order"):
the holder completes and, before the waiting transmit looks for it, the peer closes the idle
socket. The test stands in for that one moment by letting the transport forget the holder
after its data went out and closing its socket; everything after it (the timers, the fresh
socket, the delivery) is the real transport again. Without the patch the waiting transmit
stays put: the second test shows that the scenario reproduces Thespian 4.0.1's behaviour, so
if a Thespian release fixes it, that test says so.
"""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from thespian.system.transport import ExternalInterfaceTransportInit, TransmitIntent
from thespian.system.transport.TCPTransport import TCPTransport, opsKey

from station import actor_system

pytestmark = pytest.mark.integration


class Pair:
    """A sender and a receiver transport, pumped in turn from this thread."""

    def __init__(self) -> None:
        self.sender = self._transport()
        self.receiver = self._transport()
        self.received: list[str] = []

    @staticmethod
    def _transport() -> TCPTransport:
        # The admin port only names the admin this external transport would talk to.
        return TCPTransport(ExternalInterfaceTransportInit(), {"Admin Port": 1}, None, None)

    def _handle(self, envelope) -> bool:
        self.received.append(envelope.message)
        return True                                  # keep running until maximumDuration

    def send(self, text: str) -> TransmitIntent:
        intent = TransmitIntent(self.receiver.myAddress, text)
        self.sender.scheduleTransmit(None, intent)
        return intent

    def pump_until(self, fact, timeout: float) -> bool:
        """Run both transports in short slices until fact() holds or timeout passes."""
        deadline = time.monotonic() + timeout
        while not fact() and time.monotonic() < deadline:
            self.sender.run(None, timedelta(milliseconds=20))
            self.receiver.run(self._handle, timedelta(milliseconds=20))
        return fact()

    def close(self) -> None:
        self.sender.close()
        self.receiver.close()


@pytest.fixture
def pair():
    transports = Pair()
    try:
        yield transports
    finally:
        transports.close()


def strand_a_transmit(pair: Pair) -> TransmitIntent:
    """Bring the real sender to: one transmit waiting for a TX slot, no transmit holding a
    socket to the receiver, no idle socket to it. Returns the waiting transmit."""
    pair.send("first")
    key = opsKey(pair.receiver.myAddress)
    assert pair.pump_until(lambda: "first" in pair.received and key in pair.sender._openSockets,
                           timeout=10)
    holder = pair.send("holder")                 # takes the idle socket and sends at once
    waiting = pair.send("waiting")               # another transmit holds it: waits for a slot
    assert hasattr(holder, "socket") and getattr(waiting, "_awaitingTXSlot", False)
    assert waiting in pair.sender._waitingTransmits
    # The race: the holder is done and the peer closed the socket before `waiting` looked.
    del pair.sender._transmitIntents[holder.socket.fileno()]
    holder.socket.close()
    del holder.socket
    assert key not in pair.sender._openSockets
    return waiting


def test_a_stranded_transmit_goes_on_a_fresh_socket(pair):
    strand_a_transmit(pair)
    assert pair.pump_until(lambda: "waiting" in pair.received, timeout=10)


def test_without_the_patch_it_stays_stranded(pair, monkeypatch):
    monkeypatch.setattr(TCPTransport, "_processIntentTimeouts",
                        actor_system._ORIGINAL_PROCESS_TIMEOUTS)
    strand_a_transmit(pair)
    # Bounded on purpose: this proves an absence. The patched transport delivers in ~50 ms.
    assert not pair.pump_until(lambda: "waiting" in pair.received, timeout=1.5)
