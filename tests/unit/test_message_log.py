"""Tests for ocppj.message_log: text + HTML OCPP message log with secret redaction."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from ocppj import message_log
from ocppj.message_log import REDACTED, MessageLog, redact_frame

START = dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=dt.timezone.utc)
SECRET = "S3cr3t-P4ss"


def fixed_clock():
    return START.timestamp()


def frame(*parts) -> str:
    return json.dumps(list(parts), separators=(",", ":"))


@pytest.fixture
def log(tmp_path):
    with MessageLog(tmp_path / "logs", identity="CS001", clock=fixed_clock) as opened:
        yield opened


def contents(log: MessageLog) -> tuple[str, str]:
    return log.text_path.read_text(encoding="utf-8"), log.html_path.read_text(encoding="utf-8")


class TestFiles:
    def test_files_are_created_in_a_new_folder_named_after_identity_and_start(self, tmp_path):
        folder = tmp_path / "a" / "b"
        log = MessageLog(folder, identity="CS001", clock=fixed_clock)
        assert log.text_path == folder / "CS001-20240501T120000Z.log"
        assert log.html_path == folder / "CS001-20240501T120000Z.html"
        assert log.text_path.exists() and log.html_path.exists()
        log.close()

    def test_second_log_in_the_same_second_gets_its_own_files(self, tmp_path):
        first = MessageLog(tmp_path, identity="CS001", clock=fixed_clock)
        second = MessageLog(tmp_path, identity="CS001", clock=fixed_clock)
        assert second.text_path.name == "CS001-20240501T120000Z-1.log"
        assert first.text_path != second.text_path
        first.close()
        second.close()

    def test_identity_cannot_escape_the_folder(self, tmp_path):
        log = MessageLog(tmp_path / "logs", identity="../../etc/passwd", clock=fixed_clock)
        assert log.text_path.parent == tmp_path / "logs"
        assert "/" not in log.text_path.name
        log.close()

    def test_clock_may_return_a_datetime(self, tmp_path):
        log = MessageLog(tmp_path, identity="CS", clock=lambda: START)
        log.log_message("out", frame(2, "1", "Heartbeat", {}))
        assert log.text_path.read_text().splitlines()[-1].startswith("2024-05-01T12:00:00.123Z")
        log.close()

    def test_disabled_log_creates_nothing_and_ignores_records(self, tmp_path):
        log = MessageLog(tmp_path / "off", identity="CS001", enabled=False)
        log.log_message("in", "[]")
        log.log_event("x")
        log.close()
        assert not (tmp_path / "off").exists()
        assert log.text_path is None and log.html_path is None

    def test_direction_must_be_in_or_out(self, log):
        with pytest.raises(ValueError):
            log.log_message("sideways", "[]")


class TestRecords:
    def test_record_has_timestamp_direction_type_action_and_frame(self, log):
        text = frame(2, "42", "BootNotification", {"reason": "PowerUp"})
        log.log_message("out", text)
        line = log.text_path.read_text().splitlines()[-1]
        assert line.startswith("2024-05-01T12:00:00.123Z out ")
        assert " CALL " in line
        assert " BootNotification " in line
        assert line.endswith(text)

    def test_reply_is_labelled_with_the_action_of_the_call_it_answers(self, log):
        log.log_message("out", frame(2, "42", "BootNotification", {}))
        log.log_message("in", frame(2, "42", "Reset", {"type": "Immediate"}))
        log.log_message("in", frame(3, "42", {"status": "Accepted"}))
        log.log_message("out", frame(4, "42", "SecurityError", "", {}))
        lines = log.text_path.read_text().splitlines()[-2:]
        assert "CALLRESULT BootNotification" in lines[0]
        assert "CALLERROR  Reset" in lines[1]

    def test_unreadable_frame_is_logged_as_is(self, log):
        log.log_message("in", "not json <at all>")
        text, html_text = contents(log)
        assert text.splitlines()[-1].endswith(" in    ?          - not json <at all>")
        assert "not json &lt;at all&gt;" in html_text

    def test_each_record_is_one_line(self, log):
        log.log_message("in", '[2,\n"1",\r\n"Heartbeat",{}]')
        last = log.text_path.read_text().splitlines()[-1]
        assert last.endswith('[2,\\n"1",\\r\\n"Heartbeat",{}]')

    def test_events_are_logged(self, log):
        log.log_event("Connected to ws://127.0.0.1:9000/CS001")
        text, html_text = contents(log)
        assert "event" in text.splitlines()[-1]
        assert "Connected to ws://127.0.0.1:9000/CS001" in text
        assert '<tr class="event">' in html_text

    def test_records_are_on_disk_before_close(self, log):
        log.log_message("out", frame(2, "1", "Heartbeat", {}))
        # Read through a separate handle while the log is still open: flushed per record.
        text, html_text = contents(log)
        assert '"Heartbeat"' in text
        assert "Heartbeat" in html_text
        assert "</html>" not in html_text

    def test_close_finishes_the_html_and_is_idempotent(self, tmp_path):
        log = MessageLog(tmp_path, identity="CS", clock=fixed_clock)
        log.log_message("out", frame(2, "1", "Heartbeat", {}))
        log.close()
        log.close()
        log.log_message("out", frame(2, "2", "Heartbeat", {}))  # ignored after close
        html_text = log.html_path.read_text()
        assert html_text.startswith("<!DOCTYPE html>")
        assert html_text.rstrip().endswith("</table></body></html>")
        assert html_text.count("</html>") == 1
        assert '"2"' not in log.text_path.read_text()

    def test_write_failure_stops_logging_without_raising(self, log):
        def broken(_text):
            raise OSError(28, "No space left on device")

        log._text.write = broken  # type: ignore[method-assign]
        log.log_message("out", frame(2, "1", "Heartbeat", {}))
        assert isinstance(log.error, OSError)
        log.log_message("out", frame(2, "2", "Heartbeat", {}))
        log.close()

    def test_thousands_of_messages_per_second(self, tmp_path):
        log = MessageLog(tmp_path, identity="CS", clock=fixed_clock)
        call = frame(2, "1", "MeterValues", {"evseId": 1, "meterValue": [
            {"timestamp": "2024-05-01T12:00:00Z", "sampledValue": [{"value": 1.0}] * 10}]})
        result = frame(3, "1", {})
        started = time.perf_counter()
        for _ in range(2000):
            log.log_message("out", call)
            log.log_message("in", result)
        elapsed = time.perf_counter() - started
        log.close()
        assert elapsed < 4.0  # generous for slow CI; typically ~0.1 s
        assert len(log.text_path.read_text().splitlines()) == 4000 + 2


class TestHtmlEscaping:
    def test_frame_content_is_escaped(self, log):
        log.log_message(
            "in",
            frame(2, "1", "DataTransfer", {"vendorId": "<script>alert('x')</script>&"}),
        )
        _, html_text = contents(log)
        assert "<script>" not in html_text
        assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;" in html_text

    def test_action_from_the_wire_is_escaped(self, log):
        log.log_message("in", frame(2, "1", "<b>Evil</b>", {}))
        _, html_text = contents(log)
        assert "<b>Evil</b>" not in html_text
        assert "<b>&lt;b&gt;Evil&lt;/b&gt;</b>" in html_text

    def test_event_text_and_identity_are_escaped(self, tmp_path):
        log = MessageLog(tmp_path, identity="<CS>", clock=fixed_clock)
        log.log_event("closed: <1006>")
        html_text = log.html_path.read_text()
        assert "<CS>" not in html_text and "&lt;CS&gt;" in html_text
        assert "&lt;1006&gt;" in html_text
        log.close()


def set_variables(name: str, value: str) -> dict:
    return {
        "setVariableData": [
            {
                "attributeValue": value,
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": name},
            }
        ]
    }


class TestRedaction:
    """Passwords never reach the log files (A00: BasicAuthPassword is write-only)."""

    def assert_secret_absent(self, log):
        text, html_text = contents(log)
        assert SECRET not in text
        assert SECRET not in html_text
        assert REDACTED in text

    def test_set_variables_basic_auth_password_is_redacted(self, log):
        log.log_message("in", frame(2, "1", "SetVariables", set_variables("BasicAuthPassword",
                                                                           SECRET)))
        self.assert_secret_absent(log)
        line = log.text_path.read_text().splitlines()[-1]
        # Only the value is hidden; the rest of the frame stays readable.
        assert '"variable":{"name":"BasicAuthPassword"}' in line
        assert '"attributeValue":"***"' in line

    def test_other_variables_are_not_redacted(self, log):
        log.log_message("in", frame(2, "1", "SetVariables",
                                    set_variables("HeartbeatInterval", "300")))
        assert '"attributeValue":"300"' in log.text_path.read_text()

    def test_frame_without_secrets_is_written_exactly_as_received(self, log):
        text = '[2, "1", "Heartbeat", {}]'
        log.log_message("out", text)
        assert log.text_path.read_text().splitlines()[-1].endswith(text)

    def test_get_variables_result_value_is_redacted(self, log):
        log.log_message("out", frame(3, "1", {"getVariableResult": [{
            "attributeStatus": "Accepted", "attributeValue": SECRET,
            "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}}]}))
        self.assert_secret_absent(log)

    def test_notify_report_attribute_value_is_redacted(self, log):
        log.log_message("out", frame(2, "1", "NotifyReport", {
            "requestId": 1, "generatedAt": "2024-05-01T12:00:00Z", "seqNo": 0,
            "reportData": [{
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
                "variableAttribute": [{"type": "Actual", "value": SECRET}],
            }]}))
        self.assert_secret_absent(log)

    def test_notify_event_actual_value_is_redacted(self, log):
        log.log_message("out", frame(2, "1", "NotifyEvent", {
            "generatedAt": "2024-05-01T12:00:00Z", "seqNo": 0, "eventData": [{
                "eventId": 1, "timestamp": "2024-05-01T12:00:00Z", "trigger": "Delta",
                "actualValue": SECRET, "eventNotificationType": "HardWiredNotification",
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"}}]}))
        self.assert_secret_absent(log)

    @pytest.mark.parametrize("key", ["password", "basicAuthPassword", "authorizationKey",
                                     "PASSWORD", "wifiPassword"])
    def test_password_like_keys_are_redacted_at_any_depth(self, log, key):
        log.log_message("out", frame(2, "1", "DataTransfer", {
            "vendorId": "com.example", "data": {"nested": [{key: SECRET}]}}))
        self.assert_secret_absent(log)

    def test_non_string_secret_values_are_redacted_too(self, log):
        log.log_message("out", frame(2, "1", "DataTransfer", {
            "vendorId": "x", "data": {"password": {"v": SECRET}}}))
        self.assert_secret_absent(log)

    def test_ocpp16_style_authorization_key_is_redacted(self, log):
        log.log_message("in", frame(2, "1", "ChangeConfiguration",
                                    {"key": "AuthorizationKey", "value": SECRET}))
        self.assert_secret_absent(log)

    def test_unparsable_frame_gets_best_effort_redaction(self, log):
        log.log_message("in", '[2,"1","SetVariables",{"password": "' + SECRET + '", "x":')
        self.assert_secret_absent(log)

    def test_unparsable_frame_naming_basic_auth_password_hides_values(self, log):
        log.log_message("in", '[2,"1","SetVariables",{"setVariableData":[{"attributeValue":"'
                        + SECRET + '","variable":{"name":"BasicAuthPassword"}')
        self.assert_secret_absent(log)

    def test_event_text_gets_best_effort_redaction(self, log):
        log.log_event('ProtocolViolation: [2,"1","X",{"basicAuthPassword":"' + SECRET + '"}]')
        self.assert_secret_absent(log)

    def test_redact_frame_is_usable_on_its_own(self):
        redacted = redact_frame(frame(2, "1", "SetVariables",
                                      set_variables("BasicAuthPassword", SECRET)))
        assert SECRET not in redacted
        assert json.loads(redacted)[3]["setVariableData"][0]["attributeValue"] == REDACTED

    def test_redaction_does_not_modify_the_callers_objects(self):
        payload = {"password": SECRET}
        redacted, changed = message_log._redact_value(payload)
        assert changed and redacted == {"password": REDACTED}
        assert payload == {"password": SECRET}
