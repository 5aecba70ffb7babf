"""station.actor_system's patches of Thespian's transmits: a failed transmit is retried after
attempts x 250 ms instead of attempts x 35 s, and a transmit left waiting for a socket that
will never come goes on a fresh one (each patch's comment says why)."""
from __future__ import annotations

from datetime import timedelta

from thespian.system.transport import TransmitIntent

from station import actor_system


def test_a_failed_transmit_is_retried_within_a_second():
    intent = TransmitIntent(None, "message")
    assert intent.transmit_retry_period == actor_system.TRANSMIT_RETRY_PERIOD
    assert intent.retry()
    assert intent._retryTime.view().remaining() <= timedelta(milliseconds=250)


def test_a_period_the_caller_chose_is_kept():
    intent = TransmitIntent(None, "message", retryPeriod=timedelta(seconds=3))
    assert intent.transmit_retry_period == timedelta(seconds=3)


# -- the stranded-transmit patch ------------------------------------------------------------------

class Address:
    def __init__(self, port: int) -> None:
        self.addressDetails = ("127.0.0.1", port)


class Transport:
    """The parts of Thespian's TCPTransport that release_stranded reads."""

    def __init__(self, waiting, holding=(), idle=()) -> None:
        self._waitingTransmits = list(waiting)
        self._transmitIntents = {n: intent for n, intent in enumerate(holding)}
        self._openSockets = {address.addressDetails: object() for address in idle}


def waiting_for_slot(address: Address) -> TransmitIntent:
    intent = TransmitIntent(address, "message")
    intent.awaitingTXSlot()
    return intent


def test_the_oldest_transmit_waiting_for_an_actor_nobody_sends_to_goes_alone():
    session = Address(1)
    first, second = waiting_for_slot(session), waiting_for_slot(session)
    transport = Transport([second, first])                   # list order is not age
    assert actor_system.release_stranded(transport) == [first]
    assert first.timeToRetry() is True                        # goes on the next look
    assert getattr(second, "_awaitingTXSlot", False)          # still behind it


def test_a_transmit_waits_while_another_holds_a_socket_or_one_is_idle():
    busy, idle = Address(1), Address(2)
    holder = TransmitIntent(busy, "message")
    holder.socket = object()
    transport = Transport([waiting_for_slot(busy), waiting_for_slot(idle)],
                          holding=[holder], idle=[idle])
    assert actor_system.release_stranded(transport) == []


def test_a_retrying_transmit_keeps_its_place():
    session = Address(1)
    retrying = TransmitIntent(session, "message")
    retrying.retry()                                          # failed once, waits 250 ms
    later = waiting_for_slot(session)
    assert actor_system.release_stranded(Transport([later, retrying])) == []
