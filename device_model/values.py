"""Reading device-model values, which are strings, as the types their variables declare.

Actors that get a snapshot of values (the Evses, the AuthCache) parse them here, so every one
reads "true", " TRUE " or "12.0" the same way; an unreadable value keeps the caller's default.
"""
from __future__ import annotations


def parse_bool(value: str | None, default: bool) -> bool:
    folded = (value or "").strip().lower()
    return True if folded == "true" else False if folded == "false" else default


def parse_number(value: str | None, default: float | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default
