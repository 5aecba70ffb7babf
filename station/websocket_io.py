"""The station's end of the OCPP-J websocket, on websocket-client, without threads.

The CsmsSession actor watches :meth:`CsmsConnection.fileno` with ``ThespianWatch`` and calls
:meth:`read_frames` when it is readable. websocket-client reads exactly the bytes of the frame
it decodes (its frame buffer asks the socket for the missing length only), so nothing decoded
waits in a user-space buffer where select cannot see it; :meth:`read_frames` still drains every
frame the kernel already holds, bounded per call so one chatty peer cannot starve the actor's
mailbox.

Part 4 §3: subprotocol ``ocpp2.0.1``, URL ``<base>/<identity>``, HTTP Basic auth with the
identity as user name for security profiles 1 and 2 (A00.FR.2xx).
"""
from __future__ import annotations

import base64
import select
import socket
import time
from urllib.parse import quote

import websocket

SUBPROTOCOL = "ocpp2.0.1"
MAX_FRAMES_PER_READ = 64


class ConnectionClosed(Exception):
    """The websocket is gone (closed by the peer, reset, or a protocol error)."""


class HandshakeRejected(Exception):
    """The CSMS refused the connection (HTTP status, wrong subprotocol)."""


def station_url(base: str, identity: str) -> str:
    return f"{base.rstrip('/')}/{quote(identity, safe='')}"


def basic_auth_header(identity: str, password: str) -> str:
    token = base64.b64encode(f"{identity}:{password}".encode()).decode()
    return f"Authorization: Basic {token}"


class CsmsConnection:
    def __init__(self, ws: websocket.WebSocket) -> None:
        self._ws = ws
        self._closed_reason: str | None = None
        # time.monotonic() of the last frame of any kind from the CSMS (pongs included).
        self.last_received = time.monotonic()

    @classmethod
    def open(cls, base_url: str, identity: str, *, password: str | None = None,
             timeout: float = 10.0) -> "CsmsConnection":
        """Connect and upgrade; raises HandshakeRejected or OSError/ConnectionClosed."""
        headers = [basic_auth_header(identity, password)] if password else []
        try:
            ws = websocket.create_connection(
                station_url(base_url, identity), timeout=timeout, subprotocols=[SUBPROTOCOL],
                header=headers, enable_multithread=False, skip_utf8_validation=False)
        except websocket.WebSocketBadStatusException as exc:
            raise HandshakeRejected(f"HTTP {exc.status_code}") from None
        except websocket.WebSocketException as exc:
            raise ConnectionClosed(str(exc)) from None
        if ws.getsubprotocol() != SUBPROTOCOL:
            # Part 4 §3.1: without the agreed subprotocol the connection is not OCPP 2.0.1.
            ws.close()
            raise HandshakeRejected(f"CSMS did not agree to subprotocol {SUBPROTOCOL}")
        # A frame whose rest never arrives must not block the actor for long.
        ws.settimeout(5.0)
        return cls(ws)

    def fileno(self) -> int:
        return self._ws.sock.fileno()

    def send(self, text: str) -> None:
        try:
            self._ws.send(text)
        except (OSError, websocket.WebSocketException) as exc:
            raise ConnectionClosed(str(exc)) from None

    def ping(self) -> None:
        """Send a websocket ping (OCPPCommCtrlr.WebSocketPingInterval); the pong counts as
        traffic in :attr:`last_received`."""
        try:
            self._ws.ping()
        except (OSError, websocket.WebSocketException) as exc:
            raise ConnectionClosed(str(exc)) from None

    def _readable(self) -> bool:
        sock = self._ws.sock
        if sock is None:
            return False
        if hasattr(sock, "pending") and sock.pending():   # TLS: decrypted bytes select misses
            return True
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready)

    def read_frames(self) -> list[str]:
        """Every complete text frame available now (pings answered on the way).

        Raises:
            ConnectionClosed: the peer closed or the connection broke and no frame is left to
                return. Frames that arrived before the close are returned first; check
                :attr:`closed` after handling them.
        """
        if self._closed_reason is not None:
            raise ConnectionClosed(self._closed_reason)
        frames: list[str] = []
        while len(frames) < MAX_FRAMES_PER_READ and self._readable():
            try:
                opcode, frame = self._ws.recv_data_frame(True)
            except (OSError, socket.timeout, websocket.WebSocketException) as exc:
                self._closed_reason = str(exc) or type(exc).__name__
                break
            self.last_received = time.monotonic()
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self._closed_reason = "closed by the CSMS"
                break
            if opcode == websocket.ABNF.OPCODE_TEXT:
                frames.append(frame.data.decode("utf-8", errors="replace"))
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                # Part 4 §4: OCPP-J uses text frames only; answer it as unreadable input.
                frames.append(frame.data.decode("utf-8", errors="replace"))
        if not frames and self._closed_reason is not None:
            raise ConnectionClosed(self._closed_reason)
        return frames

    @property
    def closed(self) -> bool:
        """True once the peer closed; the frames read before that were returned first."""
        return self._closed_reason is not None

    def close(self) -> None:
        """Closing handshake when still possible, then always release the socket.

        websocket-client's ``close()`` returns early once the peer's close frame was answered,
        leaving the TCP socket open (CLOSE-WAIT) until garbage collection; ``shutdown()``
        closes it.
        """
        try:
            self._ws.close(timeout=1.0)
        except Exception:  # noqa: BLE001 - closing a broken socket may fail in many ways
            pass
        try:
            self._ws.shutdown()
        except Exception:  # noqa: BLE001
            pass
