"""``python -m simulators.csms``: the test CSMS alone, until SIGINT or SIGTERM.

`station/embedded_csms.py` starts it this way for ``csms.url: embedded``: it
waits for ``--port-file`` and reads the log of every message on stdout.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

from simulators.csms.server import CsmsServer


def _password_arg(text: str) -> tuple[str, str]:
    identity, sep, password = text.partition("=")
    if not sep or not identity:
        raise argparse.ArgumentTypeError("expected IDENTITY=PASSWORD")
    return identity, password


def _write_port_file(path: str, port: int) -> None:
    # Write then rename, so a reader never sees a half-written file.
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; exits with status 2 and a usage message when it is wrong."""
    parser = argparse.ArgumentParser(prog="python -m simulators.csms",
                                     description="Embedded OCPP 2.0.1 CSMS (test/demo).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--password", action="append", type=_password_arg, default=[],
                        metavar="IDENTITY=PWD",
                        help="require HTTP Basic auth (security profile 1); repeatable")
    parser.add_argument("--boot-status", default="Accepted",
                        choices=["Accepted", "Pending", "Rejected"])
    parser.add_argument("--heartbeat-interval", type=int, default=300)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the CSMS alone until SIGINT/SIGTERM; ``python -m simulators.csms``.

    Returns:
        0 after a clean stop, 1 when the address could not be bound.
    """
    args = parse_args(argv)
    server = CsmsServer(args.host, args.port, passwords=dict(args.password) or None,
                        boot_status=args.boot_status,
                        heartbeat_interval=args.heartbeat_interval)
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    # Block the signals before the server thread exists, so it inherits the mask
    # and sigwait() here is the only receiver: no handler runs mid-operation.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    try:
        try:
            port = server.start()
        except OSError as exc:
            print(f"csms: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        if args.port_file:
            _write_port_file(args.port_file, port)
        print(f"csms: ready on {server.url_base}", flush=True)  # after the port file
        received = signal.sigwait(stop_signals)
        print(f"csms: {signal.Signals(received).name}, stopping", flush=True)
        server.stop()
        return 0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
