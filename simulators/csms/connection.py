"""One station's websocket as the test CSMS serves it: the loop-thread side.

A `StationConnection` lives on the server's asyncio loop from the accepted
handshake to the close. It records every frame, answers the station's CALLs
and matches the station's answers to the CSMS's own CALLs:

Frames from the station
    Every text frame is stored raw and then decoded (`protocol.decode_frame`):
    - CALL: checked (`protocol.check_call`, then the registration rules of
      `Answers.refusal`) and recorded as a `Received` of kind ``"call"``; a
      failed check is answered with the matching CALLERROR and recorded with
      ``violation`` set. A valid CALL goes to the test's handler, which runs
      in a worker thread, or to the default answer.
    - CALLRESULT / CALLERROR: matched by message id to the outstanding CALL of
      `call` (or to a CALL sent with `send_raw`), a result validated against
      ``<Action>Response``, and recorded (kind ``"result"`` / ``"error"``).
    - Anything else: recorded with kind ``"malformed"`` and answered with a
      CALLERROR when part 4 asks for one (§4.1.3, §4.2.3, §4.4).

Frames to the station
    `call` keeps at most one CALL outstanding (part 4 §4.1.1); further calls
    wait, in order, on ``call_lock``. `send_raw` bypasses all of that on
    purpose so tests can send malformed frames.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import traceback
import uuid
from typing import Any, Callable, Coroutine

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from simulators.csms.answers import NO_REPLY, Answers, CallErrorReply, Handler
from simulators.csms.protocol import (
    CALL,
    CALLRESULT,
    InboundAnswer,
    InboundCall,
    MalformedFrame,
    call_error_frame,
    call_outcome,
    check_call,
    decode_frame,
    encode,
    raw_call,
    result_violation,
    schema_violation,
)
from simulators.csms.record import Record


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class StationConnection:
    """Loop-thread state of one accepted websocket (see module docstring).

    Args:
        identity: the station identity of the connection URL.
        ws: the accepted websocket.
        record: where frames and messages are recorded.
        answers: scripted/default answers and registration state.
        log: one line per frame and event.
        spawn: runs a coroutine as a task the server cancels when it stops.
        executor: where test handlers run (they may block or call back into the server).
    """

    def __init__(self, identity: str, ws: ServerConnection, *, record: Record,
                 answers: Answers, log: Callable[[str], None],
                 spawn: Callable[[Coroutine], None],
                 executor: concurrent.futures.Executor | None):
        self.identity = identity
        self.ws = ws
        self._record = record
        self._answers = answers
        self._log = log
        self._spawn = spawn
        self._executor = executor
        self.call_lock = asyncio.Lock()        # part 4 §4.1.1: one outstanding CALL
        self.pending: dict[str, tuple[str, asyncio.Future]] = {}
        self.raw_calls: dict[str, str] = {}    # id -> action of CALLs sent by send_raw
        self.timed_out: dict[str, str] = {}    # id -> action; a late answer is no violation
        self.done = asyncio.Event()

    def closed(self) -> None:
        """The websocket is gone: fail the CALLs waiting for an answer."""
        for _action, future in self.pending.values():
            if not future.done():
                future.set_exception(ConnectionError(f"{self.identity} disconnected"))
        self.done.set()

    def _note(self, action: str | None, message_id: str, payload: Any, kind: str,
              violation: str | None = None) -> None:
        self._record.add(self.identity, action, message_id, payload, kind, violation)
        if violation:
            self._log(f"{self.identity} !! {kind} {action or ''} {message_id}: {violation}")

    # ------------------------------------------------------------------ sending

    async def send(self, text: str | bytes) -> None:
        """Record, log and send one frame as it is."""
        shown = text if isinstance(text, str) else text.decode("utf-8", "replace")
        self._record.add_frame(self.identity, "out", shown)
        self._log(f"{self.identity} >> {_short(shown)}")
        await self.ws.send(text)

    async def _reply(self, frame: list) -> None:
        try:
            await self.send(encode(frame))
        except ConnectionClosed:
            self._log(f"{self.identity} xx reply dropped, connection closed")

    async def _reply_error(self, message_id: str, code: str, description: str,
                           details: dict | None = None) -> None:
        await self._reply(call_error_frame(message_id, code, description, details))

    async def send_raw(self, text: str | bytes) -> None:
        """Send a frame untouched; a CALL-shaped one is remembered so its answer
        is recorded as a result, not as a violation."""
        call = raw_call(text)
        if call is not None:
            message_id, action, payload = call
            self.raw_calls[message_id] = action if isinstance(action, str) else "?"
            self._answers.note_request(self.identity, action, payload)
        await self.send(text)

    # ------------------------------------------------------------------ incoming

    async def receive(self, message: str | bytes) -> None:
        """Handle one websocket message from the station."""
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        self._record.add_frame(self.identity, "in", text)
        self._log(f"{self.identity} << {_short(text)}")
        frame = decode_frame(message)
        if isinstance(frame, InboundCall):
            await self._on_call(frame)
        elif isinstance(frame, InboundAnswer):
            self._on_answer(frame)
        else:
            await self._on_malformed(frame)

    async def _on_malformed(self, frame: MalformedFrame) -> None:
        self._note(None, frame.message_id, None, "malformed", frame.violation)
        if frame.answer:
            await self._reply_error(frame.message_id, frame.code, frame.why)

    async def _on_call(self, call: InboundCall) -> None:
        message_id, action, payload = call.message_id, call.action, call.payload
        error = check_call(message_id, action, payload) \
            or self._answers.refusal(self.identity, action)
        self._note(action, message_id, payload, "call",
                   f"{error[0]}: {error[1]}" if error else None)
        if error is not None:
            await self._reply_error(message_id, *error)
            return
        handler = self._answers.handler(action)
        if handler is None:
            await self._answer(message_id, action,
                               self._answers.default_answer(self.identity, action, payload))
        else:
            self._spawn(self._run_handler(handler, message_id, action, payload))

    async def _run_handler(self, handler: Handler, message_id: str, action: str,
                           payload: dict) -> None:
        loop = asyncio.get_running_loop()
        try:
            reply = await loop.run_in_executor(self._executor, handler, self.identity,
                                               copy.deepcopy(payload))
        except asyncio.CancelledError:
            raise
        except Exception:
            # STYLE §6: an unexpected failure is InternalError, without details.
            self._log(f"{self.identity} !! handler for {action} failed:\n{traceback.format_exc()}")
            reply = CallErrorReply("InternalError", f"handler for {action} failed")
        await self._answer(message_id, action, reply)

    async def _answer(self, message_id: str, action: str, reply: Any) -> None:
        if reply is NO_REPLY:
            self._log(f"{self.identity} .. {action} {message_id} left unanswered")
            return
        if isinstance(reply, CallErrorReply):
            await self._reply_error(message_id, reply.code, reply.description, reply.details)
            return
        # Sent as is, so tests can send schema-invalid responses on purpose.
        violation = schema_violation(action, reply, response=True)
        if violation is not None:
            self._log(f"{self.identity} !! note: answer to {action} breaks the schema: {violation}")
        if action == "BootNotification":
            self._answers.answered_boot(self.identity, reply)
        await self._reply([CALLRESULT, message_id, reply])

    def _on_answer(self, answer: InboundAnswer) -> None:
        kind, message_id, payload = answer.kind, answer.message_id, answer.payload
        pending = self.pending.pop(message_id, None)
        if pending is not None:
            action, future = pending
            violation = result_violation(action, payload) if kind == "result" else None
            self._note(action, message_id, payload, kind, violation)
            if not future.done():
                future.set_result((kind, payload, violation))
            return
        for table in (self.raw_calls, self.timed_out):
            if message_id in table:
                # Answers to raw CALLs and late answers (part 4 §4.1.1 lets them
                # be dropped) are recorded but judged by the test, not here.
                self._note(table.pop(message_id), message_id, payload, kind)
                return
        self._note(None, message_id, payload, kind,
                   f"ProtocolError: no CALL with id {message_id} is outstanding")

    # ------------------------------------------------------------------ outgoing CALL

    async def call(self, action: str, payload: dict, timeout: float, validate: bool) -> Any:
        """Send a CALL once none is outstanding and wait for its answer.

        Returns and raises as `CsmsServer.call` documents.
        """
        async with self.call_lock:   # part 4 §4.1.1: one outstanding CALL per connection
            if self.done.is_set():
                raise ConnectionError(f"{self.identity} disconnected")
            message_id = str(uuid.uuid4())
            future = asyncio.get_running_loop().create_future()
            self.pending[message_id] = (action, future)
            self._answers.note_request(self.identity, action, payload)
            try:
                await self.send(encode([CALL, message_id, action, payload]))
                kind, answer, violation = await asyncio.wait_for(future, timeout)
            except ConnectionClosed:
                raise ConnectionError(f"{self.identity} disconnected") from None
            except asyncio.TimeoutError:
                self.timed_out[message_id] = action
                self._log(f"{self.identity} .. {action} {message_id} timed out after {timeout}s")
                raise TimeoutError(
                    f"{self.identity} did not answer {action} within {timeout}s") from None
            finally:
                self.pending.pop(message_id, None)
        return call_outcome(action, kind, answer, violation, validate=validate)
