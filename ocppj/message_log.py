"""OCPP message log: every frame in and out, as plain text and as an HTML table.

Theory of operation
-------------------
One :class:`MessageLog` per connection session (the CsmsSession shell owns it; it is not
thread-safe and expects one writer). On construction it creates ``directory`` if needed and
opens two files named after the station identity and the UTC start time::

    <identity>-<YYYYmmddTHHMMSSZ>.log     one line per record, grep-friendly
    <identity>-<YYYYmmddTHHMMSSZ>.html    a table, one row per record

(libocpp's MessageLogging writes ``<name>.log`` and ``<name>.html`` the same way, with an
RFC 3339 timestamp as the name. We drop the colons so the names work on every file system, and
add ``-1``, ``-2``, ... if a log of the same second already exists.)

Each record holds the ISO 8601 UTC timestamp, the direction (``in`` = from the peer, ``out`` =
to the peer, ``event`` for :meth:`MessageLog.log_event`), the message type (CALL, CALLRESULT,
CALLERROR), the action and the frame. The action of a CALLRESULT/CALLERROR is looked up from
the CALL it answers (remembered per direction, for at most 1024 open CALLs).

Text line format::

    2024-05-01T12:00:00.123Z out   CALL       BootNotification [2,"1","BootNotification",{...}]

Line breaks inside a frame are written as ``\\n`` / ``\\r`` so every record is one line.

HTML: a ``<table class="log">`` with columns Time, Direction, Type, Action, Frame; rows carry
the CSS class ``in``, ``out`` or ``event``. Everything that came from the wire is
HTML-escaped. The closing tags are written by :meth:`MessageLog.close`; a file cut short by a
crash still renders in a browser.

Secrets are never written (A00: BasicAuthPassword must not leak). Before a frame is written:

* the value of every object key that contains ``password`` or is ``authorizationKey``
  (any case, any depth) becomes ``"***"``;
* in any object whose ``variable.name`` contains ``password`` or is ``AuthorizationKey``
  (SetVariables/GetVariables data and results, NotifyReport, NotifyEvent, ...), the
  ``attributeValue``, ``actualValue`` and ``value`` fields and the ``value`` of each
  ``variableAttribute`` entry become ``"***"``;
* an OCPP 1.6-style ``{"key": "AuthorizationKey", "value": ...}`` pair gets its value redacted.

A redacted frame is re-serialized compactly; a frame with nothing to redact is written as
received. Text that is not JSON (and :meth:`MessageLog.log_event` text) gets a best-effort
regular-expression redaction of the same keys.

Durability and cost: every record is written and flushed immediately (one ``write`` per file),
so a crash of the process loses nothing already logged; there is no ``fsync`` per record, which
would cap the rate far below thousands of messages per second on flash storage. A frame is
only walked for redaction when its text contains a sensitive word at all.

If writing fails (disk full, directory removed), logging stops, the error is reported once
through the :mod:`logging` module and kept in :attr:`MessageLog.error`; the station keeps
running.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

__all__ = ["MessageLog", "REDACTED", "redact_frame"]

_log = logging.getLogger(__name__)

#: Replacement for redacted values.
REDACTED = "***"

_MAX_REMEMBERED_CALLS = 1024
_TYPE_NAMES = {2: "CALL", 3: "CALLRESULT", 4: "CALLERROR"}
_DIRECTIONS = ("in", "out")

# Quick pre-check on raw text: only frames containing one of these words are walked.
_SENSITIVE_WORD_RE = re.compile(r"password|authorizationkey", re.IGNORECASE)
_VALUE_KEYS = frozenset({"attributeValue", "actualValue", "value"})

# Best-effort redaction for text that is not JSON: "...password...": <value>.
_KEY_VALUE_RE = re.compile(
    r'("[^"\\]*(?:password|authorizationkey)[^"\\]*"\s*:\s*)'
    r'("(?:[^"\\]|\\.)*"|[^,}\]\s]+)',
    re.IGNORECASE,
)
# ... and when a sensitive variable is named anywhere, every value-like field.
_VALUE_FIELD_RE = re.compile(
    r'("(?:attributeValue|actualValue|value)"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\]\s]+)'
)
_SENSITIVE_NAME_RE = re.compile(
    r'"(?:name|key)"\s*:\s*"[^"\\]*(?:password|authorizationkey)[^"\\]*"', re.IGNORECASE
)

_HTML_HEAD = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>OCPP message log {title}</title>
<style>
.log {{ font-family: Arial, Helvetica, sans-serif; border-collapse: collapse; width: 100%; }}
.log td, .log th {{ border: 1px solid #ddd; padding: 6px; vertical-align: top; }}
.log th {{ background-color: #04AA6D; color: white; text-align: left; }}
.log tr.out {{ background-color: #F2F0E4; }}
.log tr.in {{ background-color: #E4E6F2; }}
.log tr.event {{ background-color: white; font-style: italic; }}
.log pre {{ margin: 0; white-space: pre-wrap; word-break: break-all; }}
</style></head><body>
<h3>OCPP message log: {title}</h3>
<table class="log">
<tr><th>Time</th><th>Direction</th><th>Type</th><th>Action</th><th>Frame</th></tr>
"""
_HTML_TAIL = "</table></body></html>\n"


def _is_sensitive_name(name: Any) -> bool:
    return isinstance(name, str) and _SENSITIVE_WORD_RE.search(name) is not None


def _redact_value(obj: Any) -> tuple[Any, bool]:
    """Return ``(redacted copy, changed)``; unchanged sub-objects are shared, not copied."""
    if isinstance(obj, list):
        changed = False
        items = []
        for item in obj:
            new, item_changed = _redact_value(item)
            items.append(new)
            changed |= item_changed
        return (items, True) if changed else (obj, False)
    if not isinstance(obj, dict):
        return obj, False
    variable = obj.get("variable")
    sensitive_variable = isinstance(variable, dict) and _is_sensitive_name(variable.get("name"))
    # OCPP 1.6 configuration entries: {"key": "AuthorizationKey", "value": "..."}.
    sensitive_variable |= _is_sensitive_name(obj.get("key"))
    changed = False
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if _is_sensitive_name(key) or (sensitive_variable and key in _VALUE_KEYS):
            out[key] = REDACTED
            changed = True
        elif sensitive_variable and key == "variableAttribute" and isinstance(value, list):
            # NotifyReport ReportDataType: variableAttribute[].value
            attrs = []
            for attr in value:
                if isinstance(attr, dict) and "value" in attr:
                    attr = {**attr, "value": REDACTED}
                    changed = True
                attrs.append(attr)
            out[key] = attrs
        else:
            new, value_changed = _redact_value(value)
            out[key] = new
            changed |= value_changed
    return (out, True) if changed else (obj, False)


def _redact_text(text: str) -> str:
    """Best-effort redaction of text that could not be parsed as JSON."""
    if _SENSITIVE_WORD_RE.search(text) is None:
        return text
    text = _KEY_VALUE_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    if _SENSITIVE_NAME_RE.search(text):
        text = _VALUE_FIELD_RE.sub(lambda m: f'{m.group(1)}"{REDACTED}"', text)
    return text


def redact_frame(text: str) -> str:
    """Return ``text`` with secrets replaced by ``"***"`` (see module docstring)."""
    if _SENSITIVE_WORD_RE.search(text) is None:
        return text
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return _redact_text(text)
    redacted, changed = _redact_value(parsed)
    if not changed:
        return text
    return json.dumps(redacted, separators=(",", ":"), ensure_ascii=False)


def _safe_file_part(identity: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", identity).strip(".")[:64]
    return cleaned or "station"


def _one_line(text: str) -> str:
    if "\n" in text or "\r" in text:
        return text.replace("\r", "\\r").replace("\n", "\\n")
    return text


class MessageLog:
    """Plain-text and HTML log of OCPP frames for one station identity.

    Args:
        directory: Folder for the log files; created (with parents) if missing.
        identity: Charging station identity; part of the file names.
        enabled: When False no file is created and every method does nothing.
        clock: Wall-clock source returning POSIX seconds (like :func:`time.time`, the
            default) or an aware :class:`datetime.datetime`. Inject it in tests.

    Attributes:
        text_path: Path of the plain-text log (None when disabled).
        html_path: Path of the HTML log (None when disabled).
        error: The OSError that stopped logging, or None.
    """

    def __init__(
        self,
        directory: str | Path,
        *,
        identity: str,
        enabled: bool = True,
        clock: Callable[[], float | _dt.datetime] | None = None,
    ) -> None:
        self.enabled = enabled
        self.identity = identity
        self._clock = clock if clock is not None else time.time
        # (direction of the CALL, message id) -> action, to label replies.
        self._open_calls: dict[tuple[str, str], str] = {}
        self.text_path: Path | None = None
        self.html_path: Path | None = None
        self.error: OSError | None = None
        self._text: TextIO | None = None
        self._html: TextIO | None = None
        if not enabled:
            return
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{_safe_file_part(identity)}-{self._now():%Y%m%dT%H%M%SZ}"
        candidate, counter = stem, 0
        while (folder / f"{candidate}.log").exists() or (folder / f"{candidate}.html").exists():
            counter += 1
            candidate = f"{stem}-{counter}"
        self.text_path = folder / f"{candidate}.log"
        self.html_path = folder / f"{candidate}.html"
        # Line-buffered is not enough for the HTML rows; we flush explicitly per record.
        self._text = open(self.text_path, "x", encoding="utf-8", newline="\n")
        self._html = open(self.html_path, "x", encoding="utf-8", newline="\n")
        self._write(None, _HTML_HEAD.format(title=html.escape(identity)))
        self.log_event(f"Message log started for {identity}")

    # ------------------------------------------------------------------ public API

    def log_message(self, direction: str, text: str) -> None:
        """Log one frame.

        Args:
            direction: ``"in"`` (received from the peer) or ``"out"`` (sent to it).
            text: The frame exactly as received or sent.

        Raises:
            ValueError: ``direction`` is neither ``"in"`` nor ``"out"`` (programming error).
        """
        if direction not in _DIRECTIONS:
            raise ValueError(f"direction must be 'in' or 'out', got {direction!r}")
        if self._text is None:
            return
        kind, action = self._classify(direction, text)
        frame = _one_line(redact_frame(text))
        stamp = self._timestamp()
        self._write(
            f"{stamp} {direction:<5} {kind:<10} {action or '-'} {frame}\n",
            self._html_row(stamp, direction, kind, action, frame),
        )

    def log_event(self, text: str) -> None:
        """Log a note that is not a frame (connection opened/closed, protocol violation, ...).

        The text gets the best-effort regular-expression redaction.
        """
        if self._text is None:
            return
        note = _one_line(_redact_text(text))
        stamp = self._timestamp()
        self._write(
            f"{stamp} event {'':<10} - {note}\n",
            self._html_row(stamp, "event", "", "", note),
        )

    def close(self) -> None:
        """Finish the HTML document and close both files. Safe to call more than once."""
        if self._text is None:
            return
        self.log_event("Message log closed")
        self._write(None, _HTML_TAIL)
        self._close_files()

    def __enter__(self) -> MessageLog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals

    def _classify(self, direction: str, text: str) -> tuple[str, str]:
        """Return (message type name, action) of a frame; ("?", "") if unreadable."""
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):
            return "?", ""
        if not isinstance(message, list) or len(message) < 2:
            return "?", ""
        type_id, message_id = message[0], message[1]
        kind = _TYPE_NAMES.get(type_id, "?") if type(type_id) is int else "?"
        if not isinstance(message_id, str):
            return kind, ""
        if kind == "CALL":
            action = message[2] if len(message) > 2 and isinstance(message[2], str) else ""
            calls = self._open_calls
            calls[(direction, message_id)] = action
            if len(calls) > _MAX_REMEMBERED_CALLS:
                del calls[next(iter(calls))]  # forget the oldest unanswered CALL
            return kind, action
        if kind in ("CALLRESULT", "CALLERROR"):
            # A reply travels the other way than the CALL it answers.
            call_direction = "out" if direction == "in" else "in"
            return kind, self._open_calls.pop((call_direction, message_id), "")
        return kind, ""

    def _now(self) -> _dt.datetime:
        value = self._clock()
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=_dt.timezone.utc)
            return value.astimezone(_dt.timezone.utc)
        return _dt.datetime.fromtimestamp(value, _dt.timezone.utc)

    def _timestamp(self) -> str:
        return self._now().isoformat(timespec="milliseconds").replace("+00:00", "Z")

    @staticmethod
    def _html_row(stamp: str, direction: str, kind: str, action: str, content: str) -> str:
        esc = html.escape
        return (
            f'<tr class="{direction}"><td>{stamp}</td><td>{direction}</td><td>{esc(kind)}</td>'
            f"<td><b>{esc(action)}</b></td><td><pre>{esc(content)}</pre></td></tr>\n"
        )

    def _write(self, text_record: str | None, html_record: str | None) -> None:
        try:
            if text_record is not None and self._text is not None:
                self._text.write(text_record)
                self._text.flush()
            if html_record is not None and self._html is not None:
                self._html.write(html_record)
                self._html.flush()
        except OSError as exc:
            self.error = exc
            _log.error("OCPP message log stopped: cannot write %s: %s", self.text_path, exc)
            self._close_files()

    def _close_files(self) -> None:
        for handle in (self._text, self._html):
            if handle is not None:
                try:
                    handle.close()
                except OSError:
                    pass
        self._text = None
        self._html = None
