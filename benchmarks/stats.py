"""Percentiles for the benchmark scripts: one definition, so their p50/p95/p99 columns compare."""

from __future__ import annotations

from collections.abc import Iterable


def percentile(values: Iterable[float], share: float) -> float:
    """The nearest-rank value below which `share` (0–1) of `values` lie."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]
