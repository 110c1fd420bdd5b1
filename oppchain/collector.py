"""The cycle collector around bulk work that builds millions of small objects.

Batch processing and world generation allocate objects that reference counting
frees, and the state they build holds no cycles: the collector, left on, walks
them again and again (10-15% of processing) and, on every full collection, the
whole state unless it is frozen.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def settle() -> None:
    """Collect a batch's cyclic garbage once, then freeze what survived (the state)."""
    gc.collect()
    gc.freeze()
