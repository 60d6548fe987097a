"""Tools: progress on standard error while a command takes long (a compile of 10^5
operations takes seconds): a line every few seconds saying what runs and for how long, only
where standard error is a terminal, nothing at all for a command that finishes quickly.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import TextIO

#: Seconds before the first line, and between lines.
FIRST, EVERY = 3.0, 5.0


@contextlib.contextmanager
def reported(what: str, stream: TextIO, first: float = FIRST,
             every: float = EVERY) -> Iterator[None]:
    """Report ``what`` (``compiling big.txt``) on ``stream`` while the block runs, if it is a
    terminal: ``gradgen: compiling big.txt, 8 s...`` after ``first`` seconds, then every
    ``every`` seconds; the line is cleared when the block ends."""
    if not stream.isatty():
        yield
        return
    done = threading.Event()
    ticker = threading.Thread(target=_tick, args=(what, stream, done, first, every), daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()


def _tick(what: str, stream: TextIO, done: threading.Event, first: float,
          every: float) -> None:
    """The lines, written over each other, until ``done``; then the last one cleared."""
    start, wrote, wait = time.monotonic(), False, first
    while not done.wait(wait):
        stream.write(f"\rgradgen: {what}, {time.monotonic() - start:.0f} s...")
        stream.flush()
        wrote, wait = True, every
    if wrote:
        stream.write("\r\033[K")
        stream.flush()
