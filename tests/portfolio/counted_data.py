"""Sweep data that records its deliveries: every unpickling of ``CountedPrices`` or
``CountedCaps`` appends ``<kind> <process id>`` to a log file, so a test can count how many
times, and in which processes, a sweep's data arrived (module-level, so worker processes
import it by name)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import ClassVar

import pandas as pd


def _arrived(log: str, kind: str) -> None:
    with open(log, "a") as file:  # one short append per arrival: whole lines across processes
        file.write(f"{kind} {os.getpid()}\n")


def _prices_arrived(log: str, frames: dict[str, pd.DataFrame]) -> CountedPrices:
    _arrived(log, "prices")
    return CountedPrices(frames, log)


def _caps_arrived(log: str, frame: pd.DataFrame) -> CountedCaps:
    _arrived(log, "caps")
    return CountedCaps(frame, log)


class CountedPrices(Mapping):
    """The spec's dict of per-symbol frames; unpickling it logs one 'prices' arrival."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], log: str | Path) -> None:
        self.frames, self.log = dict(frames), str(log)

    def __getitem__(self, symbol: str) -> pd.DataFrame:
        return self.frames[symbol]

    def __iter__(self) -> Iterator[str]:
        return iter(self.frames)

    def __len__(self) -> int:
        return len(self.frames)

    def __reduce__(self):
        return _prices_arrived, (self.log, self.frames)


class CountedCaps(pd.DataFrame):
    """A market-cap frame; unpickling it logs one 'caps' arrival (its slices are plain)."""

    _metadata: ClassVar[list[str]] = ["log"]

    def __init__(self, frame: pd.DataFrame, log: str | Path) -> None:
        super().__init__(frame)
        self.log = str(log)

    def __reduce__(self):
        return _caps_arrived, (self.log, pd.DataFrame(self))


def arrivals(log: str | Path, kind: str) -> Counter:
    """{process id: how many times ``kind`` data was unpickled there}."""
    lines = Path(log).read_text().split("\n") if Path(log).exists() else []
    return Counter(int(pid) for line in lines if line for k, pid in [line.split()] if k == kind)
