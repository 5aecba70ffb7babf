"""Small, pure figure helpers for the benchmarks: percentiles and TransactionEvent sequences.

Nothing here touches a process, a socket or a clock, so it is unit-tested
(``tests/unit/test_bench_stats.py``) and the benchmarks only collect the raw observations.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["SequenceReport", "check_sequences", "collapsed_profile", "percentile", "summary_ms"]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``values``, linearly interpolated between ranks.

    The same definition as ``numpy.percentile``'s default and ``statistics.quantiles(...,
    method="inclusive")``: p0 is the minimum, p100 the maximum, p50 the median.

    Raises:
        ValueError: ``values`` is empty or ``q`` is outside 0..100.
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"q must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Sequence[float]) -> str:
    """``"n=…, p50 … ms, p99 … ms, max … ms"`` for durations given in seconds."""
    if not seconds:
        return "n=0"
    return (f"n={len(seconds)}, p50 {percentile(seconds, 50) * 1e3:.1f} ms, "
            f"p99 {percentile(seconds, 99) * 1e3:.1f} ms, max {max(seconds) * 1e3:.1f} ms")


@dataclass
class SequenceReport:
    """What the CSMS saw of each transaction's seqNo, in the order it received the events.

    E01/E07 and part 2 §2.1.6 (seqNo): every TransactionEvent of a transaction carries the next
    number, starting at 0. Received in order and exactly once, a transaction's seqNos are
    0, 1, 2, …; anything else is counted here.

    Attributes:
        transactions: Distinct transactionIds seen.
        events: Events seen.
        duplicates: Events whose (transactionId, seqNo) was already seen.
        gaps: seqNos missing below the highest one seen, summed over transactions. The tail is
            not a gap: an event still in flight when the figures are taken is simply not there.
        out_of_order: Events (not duplicates) with a seqNo lower than one seen before.
        not_from_zero: Transactions whose lowest seqNo seen is not 0.
        bad: transactionId -> a short description, for the transactions with any problem.
    """

    transactions: int = 0
    events: int = 0
    duplicates: int = 0
    gaps: int = 0
    out_of_order: int = 0
    not_from_zero: int = 0
    bad: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.duplicates or self.gaps or self.out_of_order or self.not_from_zero)


def check_sequences(events: Iterable[tuple[str, int]]) -> SequenceReport:
    """Check ``(transactionId, seqNo)`` pairs, given in the order the CSMS received them."""
    seen: dict[str, set[int]] = {}
    highest: dict[str, int] = {}
    report = SequenceReport()
    problems: dict[str, list[str]] = {}
    for transaction_id, seq_no in events:
        report.events += 1
        numbers = seen.setdefault(transaction_id, set())
        if seq_no in numbers:
            report.duplicates += 1
            problems.setdefault(transaction_id, []).append(f"seqNo {seq_no} twice")
            continue
        if transaction_id in highest and seq_no < highest[transaction_id]:
            report.out_of_order += 1
            problems.setdefault(transaction_id, []).append(
                f"seqNo {seq_no} after {highest[transaction_id]}")
        numbers.add(seq_no)
        highest[transaction_id] = max(seq_no, highest.get(transaction_id, seq_no))
    report.transactions = len(seen)
    for transaction_id, numbers in seen.items():
        missing = highest[transaction_id] + 1 - len(numbers)
        if missing:
            report.gaps += missing
            problems.setdefault(transaction_id, []).append(f"{missing} seqNo missing")
        if min(numbers) != 0:
            report.not_from_zero += 1
            problems.setdefault(transaction_id, []).append(f"starts at {min(numbers)}")
    report.bad = {tid: "; ".join(what) for tid, what in problems.items()}
    return report


def collapsed_profile(lines: Iterable[str], top: int = 15,
                      common: float = 95.0) -> list[tuple[str, float, float]]:
    """Summarise collapsed stacks (``py-spy record -f raw``: ``frame;frame;... count``).

    Returns up to ``top`` frames as ``(frame, inclusive %, self %)``, by inclusive share of the
    samples, leaving out frames on at least ``common`` % of the samples (process start-up, the
    actor loop: py-spy's non-blocking samples are sometimes cut short, so "on every sample" is
    not a reliable test).
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.strip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    ranked = [(frame, n * 100 / total, own[frame] * 100 / total)
              for frame, n in inclusive.most_common() if n * 100 < common * total]
    return ranked[:top]
