"""The benchmarks' figure helpers (bench/stats.py): percentiles and seqNo checks (E01, §2.1.6)."""
import statistics

import pytest
from hypothesis import given, strategies as st

from bench.stats import check_sequences, collapsed_profile, percentile, summary_ms


class TestPercentile:
    def test_ends_and_median(self):
        values = [5.0, 1.0, 3.0, 2.0, 4.0]
        assert percentile(values, 0) == 1.0
        assert percentile(values, 100) == 5.0
        assert percentile(values, 50) == 3.0

    def test_interpolates_between_ranks(self):
        assert percentile([0.0, 10.0], 25) == 2.5
        assert percentile(list(range(101)), 99) == 99

    def test_empty_or_out_of_range_is_an_error(self):
        with pytest.raises(ValueError):
            percentile([], 50)
        with pytest.raises(ValueError):
            percentile([1.0], 101)

    @given(st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=50),
           st.integers(1, 99))
    def test_agrees_with_statistics_inclusive_quantiles(self, values, q):
        expected = statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        assert percentile(values, q) == pytest.approx(expected, abs=1e-6)

    def test_summary_is_in_milliseconds(self):
        assert summary_ms([0.001, 0.002, 0.003]) == "n=3, p50 2.0 ms, p99 3.0 ms, max 3.0 ms"
        assert summary_ms([]) == "n=0"


class TestCheckSequences:
    def test_continuous_sequences_interleaved_across_transactions_are_ok(self):
        report = check_sequences([("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)])
        assert report.ok and report.transactions == 2 and report.events == 5

    def test_a_missing_tail_is_not_a_gap(self):
        # The last events may still be in flight when the figures are taken.
        assert check_sequences([("a", 0), ("a", 1)]).ok

    def test_duplicate_is_counted_once_and_not_as_out_of_order(self):
        report = check_sequences([("a", 0), ("a", 1), ("a", 1), ("a", 2)])
        assert (report.duplicates, report.out_of_order, report.gaps) == (1, 0, 0)
        assert report.bad == {"a": "seqNo 1 twice"}

    def test_gap_below_the_highest_seen(self):
        report = check_sequences([("a", 0), ("a", 1), ("a", 4)])
        assert report.gaps == 2 and not report.ok

    def test_reordering_is_out_of_order_but_not_a_gap(self):
        report = check_sequences([("a", 0), ("a", 2), ("a", 1)])
        assert (report.out_of_order, report.gaps, report.duplicates) == (1, 0, 0)

    def test_a_transaction_whose_start_is_missing(self):
        report = check_sequences([("a", 1), ("a", 2)])
        assert report.not_from_zero == 1 and report.gaps == 1 and not report.ok


class TestCollapsedProfile:
    def test_inclusive_and_self_shares_without_the_frames_on_every_sample(self):
        lines = ["main;loop;handle;fsync 6", "main;loop;handle;validate 2", "main;loop;select 2",
                 "not a sample line"]
        ranked = collapsed_profile(lines)
        assert ranked[0] == ("handle", 80.0, 0.0)
        assert ("fsync", 60.0, 60.0) in ranked and ("select", 20.0, 20.0) in ranked
        assert all(frame not in ("main", "loop") for frame, _, _ in ranked)

    def test_frames_on_almost_every_sample_are_left_out(self):
        # A non-blocking py-spy sample may miss the outer frames.
        lines = ["main;loop;handle 97", "loop;handle 2", "handle 1"]
        assert collapsed_profile(lines) == []
        assert collapsed_profile(lines, common=99.5) == [("loop", 99.0, 0.0), ("main", 97.0, 0.0)]
