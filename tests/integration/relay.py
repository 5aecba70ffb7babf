"""A TCP relay between the station and the test CSMS, to play network faults on loopback."""
from __future__ import annotations

import socket
import threading
import time


class RejectingRelay:
    """A TCP relay between the station and the CSMS that can refuse connection attempts.

    The station connects here; each accepted TCP connection is one connection attempt and is
    timestamped (``time.monotonic``). Normally the bytes are relayed to the CSMS. After
    :meth:`reject_next`, the next attempt gets ``HTTP 503`` to its websocket upgrade and is closed
    (OCTT: "the connection attempt is not accepted"), and the moment of that refusal is recorded.
    """

    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._cond = threading.Condition()
        self.attempts: list[float] = []
        self.refusals: list[float] = []
        self._to_reject = 0
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self._blackholed = False
        self._start(self._accept_loop)

    @property
    def url_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def blackhole(self, on: bool = True) -> None:
        """Keep the connections open but drop every byte, like a link that died silently."""
        with self._cond:
            self._blackholed = on

    def reject_next(self) -> None:
        with self._cond:
            self._to_reject += 1

    def wait(self, what: str, count: int, timeout: float) -> float:
        """The time of the ``count``-th attempt / refusal (1-based)."""
        events = self.attempts if what == "attempt" else self.refusals
        with self._cond:
            if not self._cond.wait_for(lambda: len(events) >= count, timeout):
                raise AssertionError(f"no {what} #{count} within {timeout} s")
            return events[count - 1]

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            sockets = list(self._sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._cond:
                self.attempts.append(time.monotonic())
                refuse = self._to_reject > 0
                if refuse:
                    self._to_reject -= 1
                self._sockets.append(client)
                self._cond.notify_all()
            if refuse:
                self._refuse(client)
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._cond:
                self._sockets.append(upstream)
            self._start(self._pump, client, upstream)
            self._start(self._pump, upstream, client)

    def _refuse(self, client: socket.socket) -> None:
        client.settimeout(5)
        request = b""
        try:
            while b"\r\n\r\n" not in request:
                chunk = client.recv(4096)
                if not chunk:
                    break
                request += chunk
            client.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                           b"Connection: close\r\n\r\n")
        except OSError:
            pass
        with self._cond:
            self.refusals.append(time.monotonic())
            self._cond.notify_all()
        client.close()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if not self._blackholed:
                    sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
