"""What happens to each CALL the station sends when it cannot go out now: one table.

Every CS -> CSMS action of OCPP 2.0.1 has exactly one :class:`SendPolicy` in :data:`POLICIES`
(``tests/unit/test_send_policy.py`` walks :data:`station.actions.CS_TO_CSMS_ACTIONS`), and the
sending port :class:`station.sender.Sender` is the only way a block sends a CALL: it reads the
policy here, so no block decides on its own whether its message survives an offline period.

What the spec fixes:

* TransactionEvent MUST be queued while offline and sent after the reconnect (E04.FR.01/02,
  E11.FR.01/02, E12.FR.01/02), retried per MessageAttempts (E13).
* SecurityEventNotification: "queued with a guaranteed delivery" (A04.FR.02).
* StatusNotification after an offline period: every connector when the period exceeded
  OfflineThreshold, else those that changed (B04.FR.01/02); after a boot every connector
  (B01.FR.05). That is the *current* state, derived again, not a replay of what was missed.
* OCPPCommCtrlr.QueueAllMessages (part 2 §2.1.9): "When this variable is set to true, the
  Charging Station will queue all message until they are delivered to the CSMS. When set to
  false the Charging Station will only queue Transaction related messages".
* BootNotification and Heartbeat belong to the connection itself (B01-B03, G02): the session
  sends them, nothing queues them.

Everything else is a choice; the reason for each is next to its entry.
"""
from __future__ import annotations

from enum import StrEnum


class SendPolicy(StrEnum):
    """How the sending port treats one action.

    Attributes:
        SESSION: Sent by :class:`station.session.StationSession` itself (boot, heartbeat);
            the port refuses it.
        GUARANTEED: Always stored in the durable queue's guaranteed lane (TRANSACTION_QUEUE),
            in order, kept across offline periods and restarts, retried MessageAttempts times.
        QUEUE_ALL: Stored in the durable queue when QueueAllMessages is true (then as
            GUARANTEED, but in the normal lane, NORMAL_QUEUE). When false it goes through the
            queue in order but is sent at most once: refused while offline or not Accepted,
            dropped if the link dies before it went out.
        RE_DERIVED: Never queued: sent if the session may send now, else dropped; the block
            sends the *current* state again after the reconnect or registration.
        LIVE: A question whose answer the station needs now: sent if possible, never queued;
            while offline the caller takes its offline path (``on_error`` / False).
    """

    SESSION = "session"
    GUARANTEED = "guaranteed"
    QUEUE_ALL = "queue_all"
    RE_DERIVED = "re_derived"
    LIVE = "live"


#: The policy of every CS -> CSMS action of OCPP 2.0.1.
POLICIES: dict[str, SendPolicy] = {
    # -- fixed by the spec --------------------------------------------------------------------
    "BootNotification": SendPolicy.SESSION,             # B01.FR.08: the session's own gate
    "Heartbeat": SendPolicy.SESSION,                    # G02: a late heartbeat tells nothing
    "TransactionEvent": SendPolicy.GUARANTEED,          # E04.FR.01, E11.FR.01, E12.FR.01, E13
    "SecurityEventNotification": SendPolicy.GUARANTEED, # A04.FR.02 guaranteed delivery
    # Choice: QueueAllMessages says "all", but B04.FR.01/02 say what the CSMS gets after an
    # offline period: the current status of the connectors (that changed). Replaying queued
    # intermediate statuses as well would report states that no longer hold, ahead of and
    # besides the ones B04 asks for. So never queued, whatever QueueAllMessages says; the
    # Availability block re-sends on reconnect and on Accepted (B01.FR.05).
    "StatusNotification": SendPolicy.RE_DERIVED,

    # -- choices: guaranteed although the spec does not ask for it ------------------------------
    # Choice: no requirement asks to queue it, but a Removed reservation (H01.FR.16/17: the
    # EVSE went Faulted/Unavailable) is something the CSMS cannot learn otherwise, and the
    # block always delivered Expired after a reconnect or a restart (the reservation row was
    # kept until acknowledged). The guaranteed lane keeps that behaviour without a retry list
    # of the block's own.
    "ReservationStatusUpdate": SendPolicy.GUARANTEED,

    # -- choices: QueueAllMessages decides ----------------------------------------------------
    # Notifications of something that happened on the station. No requirement asks to queue
    # them, so they follow QueueAllMessages (§2.1.9: "all messages" when true; when false only
    # transaction-related ones are queued, so these are dropped while offline).
    "NotifyEvent": SendPolicy.QUEUE_ALL,                # G05.FR.02 lock Problem, N07 (monitoring
    #   events would follow OfflineMonitoringEventQueuingSeverity, N07.FR.04, once monitoring
    #   exists). The Connector.AvailabilityState event paired with a StatusNotification is only
    #   raised when that StatusNotification goes out, so it is re-derived with it.
    "NotifyChargingLimit": SendPolicy.QUEUE_ALL,        # K11.FR.01: no queueing requirement
    "ClearedChargingLimit": SendPolicy.QUEUE_ALL,       # K13.FR.02: no queueing requirement
    # Choice: meter values of a transaction travel in TransactionEvent (J02 error handling:
    # "transaction-related messages (Meter Values belonging to a transaction)"); MeterValues
    # carries idle/clock-aligned values outside transactions, which nothing asks to keep.
    "MeterValues": SendPolicy.QUEUE_ALL,
    # Answers, in pages, to a CSMS request with a requestId (B07/B08, K09, N02, N09, O04): the
    # CSMS waits for them, so with QueueAllMessages a page cut off by a connection loss still
    # arrives. While Pending (B02.FR.02) the queue is closed, so the port sends a triggered
    # one directly (see Sender.send).
    "NotifyReport": SendPolicy.QUEUE_ALL,
    "ReportChargingProfiles": SendPolicy.QUEUE_ALL,
    "NotifyMonitoringReport": SendPolicy.QUEUE_ALL,
    "NotifyCustomerInformation": SendPolicy.QUEUE_ALL,
    "NotifyDisplayMessages": SendPolicy.QUEUE_ALL,
    # Status reports of long-running jobs (L01, L05, N01); no blocks yet. Each status is a
    # step the CSMS tracks, so with QueueAllMessages they are kept.
    "FirmwareStatusNotification": SendPolicy.QUEUE_ALL,
    "PublishFirmwareStatusNotification": SendPolicy.QUEUE_ALL,
    "LogStatusNotification": SendPolicy.QUEUE_ALL,

    # -- choices: live questions, never queued even with QueueAllMessages ---------------------
    # Choice: a driver waits at the station for the answer; offline, C12/C15 decide
    # (LocalAuthorizeOffline, OfflineTxForUnknownIdEnabled) and the TransactionEvents, which
    # are guaranteed, carry the idToken to the CSMS later (C15.FR.02). An Authorize delivered
    # minutes late would be answered to nobody.
    "Authorize": SendPolicy.LIVE,
    # Choice: vendor-specific (P01.FR.07: the parties agree on its use); a vendor extension
    # that must not be lost says so itself, the port cannot know.
    "DataTransfer": SendPolicy.LIVE,
    # Choice: parts of a running ISO 15118 session (M02, M06, K15, K17): the EV waits for the
    # answer; a late one belongs to a session that is over. No ISO 15118 yet.
    "Get15118EVCertificate": SendPolicy.LIVE,
    "GetCertificateStatus": SendPolicy.LIVE,
    "NotifyEVChargingNeeds": SendPolicy.LIVE,
    "NotifyEVChargingSchedule": SendPolicy.LIVE,
    # Choice: A02.FR.17-19 re-send a CSR on their own back-off (CertSigningWaitMinimum,
    # CertSigningRepeatTimes); a queued copy on top would make the CSMS sign twice.
    "SignCertificate": SendPolicy.LIVE,
}
