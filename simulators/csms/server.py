"""The test CSMS's websocket server and the blocking API tests drive it with.

Theory of operation
-------------------
`CsmsServer` is a websocket *server* (the CSMS side of OCPP-J, part 4 §3) built
on the ``websockets`` asyncio API. The asyncio loop runs in one background
daemon thread; every public method is blocking and thread-safe, so a test (or
the station's integration harness) drives it from ordinary threads:

    csms = CsmsServer(log=lines.append)
    port = csms.start()                        # listening on 127.0.0.1:port
    boot = csms.wait_for("BootNotification", identity="CS001")
    csms.call("CS001", "GetVariables", {...})  # CSMS -> CS CALL, blocks for the answer
    csms.stop()

The work is shared out by responsibility:

- `handshake`: who may connect (identity, HTTP Basic auth). The subprotocol
  must be ``ocpp2.0.1``: if the station does not offer it, the handshake
  completes *without* a Sec-WebSocket-Protocol header and this server closes
  the connection at once (1002), exactly as part 4 §3.2 prescribes. Only a
  connection that passes all of this counts in `connection_count`. A second
  connection for the same identity replaces the first (the first is closed).
- `connection.StationConnection`: one accepted websocket on the loop thread:
  frames in and out, CALLs answered, answers matched to CALLs.
- `protocol` and `schemas`: OCPP-J and schema rules, without I/O.
- `answers.Answers`: scripted handlers, default answers, registration state.
- `record.Record`: what was received and sent, and the waits on it.

This class owns the loop thread, the listening socket and the table of open
connections, and turns each blocking call into work on the loop.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import datetime
import http
import threading
from typing import Any, Callable

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.headers import build_www_authenticate_basic
from websockets.http11 import Request, Response

from simulators.csms.answers import Answers, Handler, utc_now
from simulators.csms.connection import StationConnection
from simulators.csms.handshake import SUBPROTOCOL, check_request, identity_of
from simulators.csms.record import Frame, Received, Record


def _print_line(line: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
    print(f"{stamp} {line}", flush=True)


class CsmsServer:
    """A small OCPP 2.0.1 CSMS on its own asyncio thread (see module docstring).

    Args:
        host: address to bind; only this address is bound (default loopback).
        port: TCP port; 0 picks a free one (see `start`).
        passwords: identity -> BasicAuthPassword; when given, security profile 1
            (HTTP Basic auth, username == identity) is required.
        boot_status: ``status`` of the default BootNotificationResponse.
        heartbeat_interval: ``interval`` of the default BootNotificationResponse.
        log: called with one line per frame and event; default prints to stdout.
        clock: returns the CSMS's current time (``currentTime`` fields);
            default: the system clock in UTC.
        min_wait_s: the shortest any wait_for/wait_raw/call waits (`min_wait_s`).
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 passwords: dict[str, str] | None = None,
                 boot_status: str = "Accepted", heartbeat_interval: int = 300,
                 log: Callable[[str], None] | None = None,
                 clock: Callable[[], datetime.datetime] | None = None,
                 min_wait_s: float = 0.0):
        if not host:
            raise ValueError("host must name one address; an empty host binds every interface")
        self._answers = Answers(boot_status=boot_status, heartbeat_interval=heartbeat_interval,
                                clock=clock or utc_now)
        self.host = host
        self._requested_port = port
        self._passwords = dict(passwords) if passwords is not None else None
        self._log = log if log is not None else _print_line
        # The shortest any wait_for/wait_raw/call waits, whatever timeout the caller gave:
        # integration tests set it above Thespian's 35 s transmit retry (see README, "Known
        # problems"), so a message held back by the actor transport is late, not failed.
        self.min_wait_s = min_wait_s

        self._record = Record()
        # Guards the connection table; wait_connected waits on it.
        self._cond = threading.Condition(threading.RLock())
        self._connections: dict[str, StationConnection] = {}
        self._connection_counts: dict[str, int] = collections.Counter()

        self._port: int | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task] = set()

    # ------------------------------------------------------------------ life cycle

    def start(self) -> int:
        """Bind and start serving in a background thread.

        May be called again after `stop` (a "CSMS restart" for reconnect
        tests): it binds the port it had before, and keeps the records,
        connection counts and registration states.

        Returns:
            The bound port.

        Raises:
            OSError: the address could not be bound.
            RuntimeError: already started.
        """
        if self._thread is not None:
            raise RuntimeError("CsmsServer already started")
        if self._port is not None:
            self._requested_port = self._port   # restart: stations keep their URL
        self._ready.clear()
        self._startup_error = None
        # User handlers may block or call back into call(); they run here, off the loop.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=4, thread_name_prefix="csms-handler")
        self._thread = threading.Thread(target=self._run, name="csms-server", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            self._thread.join()
            self._thread = None
            self._executor.shutdown(wait=True)
            self._executor = None
            raise self._startup_error
        assert self._port is not None
        return self._port

    def stop(self) -> None:
        """Close every connection (1001), stop the loop and join its thread.

        Safe to call twice. Blocks until user handlers still running return.
        """
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive() and self._stop_event is not None:
            loop.call_soon_threadsafe(self._stop_event.set)
        thread.join()
        self._thread = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._log("csms stopped")

    def __enter__(self) -> CsmsServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int | None:
        """The bound port once `start` returned, else None."""
        return self._port

    @property
    def url_base(self) -> str:
        """``ws://HOST:PORT``; a station connects to ``url_base + "/" + identity``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self._port}"

    # ------------------------------------------------------------------ answers

    @property
    def boot_status(self) -> str:
        """``status`` of the default BootNotificationResponse."""
        return self._answers.boot_status

    @boot_status.setter
    def boot_status(self, value: str) -> None:
        self._answers.boot_status = value

    @property
    def heartbeat_interval(self) -> int:
        """``interval`` of the default BootNotificationResponse."""
        return self._answers.heartbeat_interval

    @heartbeat_interval.setter
    def heartbeat_interval(self, value: int) -> None:
        self._answers.heartbeat_interval = value

    def set_handler(self, action: str, fn: Handler | None) -> None:
        """Override the answer to a CS->CSMS action (None restores the default).

        ``fn(identity, payload)`` runs in a worker thread (it may block or call
        `call`) and returns the CALLRESULT payload, a `CallErrorReply`, or
        `NO_REPLY`. It is only called for CALLs that passed validation. An
        exception becomes a CALLERROR InternalError without details. Its answer
        is sent as is, so tests can send schema-invalid responses; a schema
        violation in it is only logged.
        """
        self._answers.set_handler(action, fn)

    def default_answer(self, identity: str, action: str, payload: dict) -> dict:
        """The CALLRESULT payload this CSMS sends when no handler is set.

        Handlers may call this to tweak the default. Every answer is valid
        against ``<Action>Response``.

        Raises:
            KeyError: ``action`` is not a CS->CSMS action.
        """
        return self._answers.default_answer(identity, action, payload)

    def registration_status(self, identity: str) -> str | None:
        """Status of the last BootNotificationResponse sent to ``identity``."""
        return self._answers.registration_status(identity)

    # ------------------------------------------------------------------ inspection

    def mark(self) -> int:
        """A position in the record; pass it as ``after=`` to only see newer things."""
        return self._record.mark()

    def received(self, action: str | None = None, identity: str | None = None, *,
                 kind: str | None = "call") -> list[Received]:
        """Copies of the parsed messages received so far; see `Record.received`."""
        return self._record.received(action, identity, kind=kind)

    def violations(self, identity: str | None = None) -> list[Received]:
        """Copies of every received message that broke a rule (``violation`` set)."""
        return self._record.violations(identity)

    def frames(self, identity: str | None = None, direction: str | None = None) -> list[Frame]:
        """Raw frames sent and received, oldest first (``direction`` "in"/"out")."""
        return self._record.frames(identity, direction)

    def wait_for(self, action: str, *, identity: str | None = None,
                 predicate: Callable[[dict], bool] | None = None,
                 timeout: float = 10.0, after: int | None = None) -> dict:
        """Block until a schema-valid CALL of ``action`` has been received.

        Waits at least `min_wait_s`; otherwise as `Record.wait_for`.

        Returns:
            A copy of the first matching CALL's payload.

        Raises:
            TimeoutError: none arrived in time.
        """
        return self._record.wait_for(action, identity=identity, predicate=predicate,
                                     timeout=max(timeout, self.min_wait_s), after=after)

    def wait_raw(self, identity: str, predicate: Callable[[str], bool] | None = None,
                 timeout: float = 10.0, *, after: int | None = None) -> str:
        """Block until the station sent a frame that satisfies ``predicate``.

        Waits at least `min_wait_s`; otherwise as `Record.wait_raw`.

        Args:
            after: only frames newer than this `mark` (e.g. from `send_raw`).

        Returns:
            The raw frame text.

        Raises:
            TimeoutError: none in time.
        """
        return self._record.wait_raw(identity, predicate, max(timeout, self.min_wait_s),
                                     after=after)

    # ------------------------------------------------------------------ connections

    def is_connected(self, identity: str) -> bool:
        """Whether ``identity`` has an accepted, open connection."""
        with self._cond:
            return identity in self._connections

    def connection_count(self, identity: str) -> int:
        """How many connections of ``identity`` were accepted since `start`."""
        with self._cond:
            return self._connection_counts[identity]

    def wait_connected(self, identity: str, timeout: float = 10.0, *,
                       count: int | None = None) -> None:
        """Block until ``identity`` is connected (and, with ``count``, until at
        least ``count`` connections were accepted in total, for reconnect tests).

        Raises:
            TimeoutError: not within ``timeout`` seconds.
        """
        def ready() -> bool:
            return identity in self._connections and (
                count is None or self._connection_counts[identity] >= count)

        with self._cond:
            if not self._cond.wait_for(ready, timeout):
                raise TimeoutError(f"{identity} not connected within {timeout}s"
                                   + (f" (count {count})" if count else ""))

    def disconnect(self, identity: str, code: int = 1000, reason: str = "", *,
                   abort: bool = False, timeout: float = 10.0) -> None:
        """Close the connection of ``identity`` and wait until it is gone.

        Args:
            code, reason: the close frame (ignored with ``abort``).
            abort: drop the TCP connection without a closing handshake, like a
                network failure.

        Raises:
            ConnectionError: ``identity`` is not connected.
        """
        async def close() -> None:
            conn = self._connection(identity)
            self._log(f"{identity} xx disconnect ({'abort' if abort else code})")
            if abort:
                conn.ws.transport.abort()
            else:
                await conn.ws.close(code, reason)
            await conn.done.wait()

        self._run_in_loop(close(), timeout)

    def _connection(self, identity: str) -> StationConnection:
        conn = self._connections.get(identity)
        if conn is None:
            raise ConnectionError(f"{identity} is not connected")
        return conn

    # ------------------------------------------------------------------ sending

    def call(self, identity: str, action: str, payload: dict, timeout: float = 10.0, *,
             validate: bool = True) -> dict:
        """Send a CSMS->CS CALL and block for its answer.

        Calls to one station are sent one at a time (part 4 §4.1.1); a call made
        while another is outstanding waits for it first. ``timeout`` counts from
        the moment this CALL is sent (and is at least `min_wait_s`).

        Args:
            validate: check the CALLRESULT against ``<Action>Response``.

        Returns:
            The CALLRESULT payload.

        Raises:
            CallErrorResult: the station answered with a CALLERROR.
            PayloadViolation: the CALLRESULT broke the schema (with ``validate``).
            TimeoutError: no answer within ``timeout``.
            ConnectionError: not connected, or the connection closed meanwhile.
        """
        timeout = max(timeout, self.min_wait_s)

        async def call() -> dict:
            return await self._connection(identity).call(action, payload, timeout, validate)

        return self._run_in_loop(call(), None)

    def send_raw(self, identity: str, text: str | bytes) -> int:
        """Send a frame exactly as given (text, or binary for ``bytes``).

        A CALL-shaped frame is remembered so the station's answer is recorded as
        a result, not as a violation. Nothing is validated or queued.

        Returns:
            `mark` from just before sending; pass it to `wait_raw` as ``after``.
        """
        async def send() -> int:
            conn = self._connection(identity)
            marker = self.mark()
            await conn.send_raw(text)
            return marker

        return self._run_in_loop(send(), 10.0)

    # ================================================================== loop thread

    def _run_in_loop(self, coro: Any, timeout: float | None) -> Any:
        loop = self._loop
        if loop is None or self._thread is None or not self._thread.is_alive():
            coro.close()
            raise ConnectionError("CsmsServer is not running")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking CsmsServer methods cannot run on its own loop")
        future = asyncio.run_coroutine_threadsafe(self._tracked(coro), loop)
        try:
            return future.result(timeout)
        except concurrent.futures.CancelledError:
            raise ConnectionError("CsmsServer stopped") from None
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError("CsmsServer did not complete the request in time") from None

    async def _tracked(self, coro: Any) -> Any:
        # Registered like _spawn's tasks, so stop() cancels a call() still
        # waiting (its caller then gets ConnectionError instead of hanging).
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            return await coro
        finally:
            self._tasks.discard(task)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            self._ready.set()

    async def _serve(self) -> None:
        self._stop_event = asyncio.Event()
        try:
            server = await serve(
                self._handle, self.host, self._requested_port,
                subprotocols=[SUBPROTOCOL],
                select_subprotocol=self._select_subprotocol,
                process_request=self._process_request,
                # A station answers a close frame at once; don't let one that
                # doesn't hold up stop() or disconnect() for the default 10 s.
                close_timeout=2.0,
            )
        except Exception as exc:  # bind failure: re-raised in start()
            self._startup_error = exc
            self._ready.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._log(f"csms listening on {self.url_base}")
        self._ready.set()
        await self._stop_event.wait()
        server.close(close_connections=True)   # 1001 going away to every station
        await server.wait_closed()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ handshake

    @staticmethod
    def _select_subprotocol(connection: ServerConnection, offered: Any) -> str | None:
        # part 4 §3.2: without a shared subprotocol the handshake still completes
        # (no Sec-WebSocket-Protocol header); _handle then closes at once.
        return SUBPROTOCOL if SUBPROTOCOL in offered else None

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        refusal = check_request(request.path, request.headers.get("Authorization"),
                                self._passwords)
        if refusal is None:
            return None
        self._log(f"{refusal.identity} xx handshake refused: {refusal.status.value} {refusal.why}")
        response = connection.respond(refusal.status, refusal.why + "\n")
        if refusal.status == http.HTTPStatus.UNAUTHORIZED:
            response.headers["WWW-Authenticate"] = build_www_authenticate_basic("ocpp")
        return response

    # ------------------------------------------------------------------ connection

    async def _handle(self, ws: ServerConnection) -> None:
        identity = identity_of(ws.request.path)
        if ws.subprotocol != SUBPROTOCOL:
            self._log(f"{identity} xx closed: subprotocol {SUBPROTOCOL} not offered")
            await ws.close(1002, f"subprotocol {SUBPROTOCOL} required")
            return
        conn = StationConnection(identity, ws, record=self._record, answers=self._answers,
                                 log=self._log, spawn=self._spawn, executor=self._executor)
        with self._cond:
            previous = self._connections.get(identity)
            self._connections[identity] = conn
            self._connection_counts[identity] += 1
            count = self._connection_counts[identity]
            self._cond.notify_all()
        self._log(f"{identity} ++ connected (#{count}) from {ws.remote_address}")
        if previous is not None:
            self._log(f"{identity} xx replacing the previous connection")
            self._spawn(previous.ws.close(1000, "replaced by a new connection"))
        try:
            async for message in ws:
                await conn.receive(message)
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if self._connections.get(identity) is conn:
                    del self._connections[identity]
                self._cond.notify_all()
            conn.closed()
            self._log(f"{identity} -- disconnected ({ws.close_code})")
