"""A rough deep ``sys.getsizeof``: how much memory state holds, for sizing.

Shared objects (interned strings, small ints) are counted once.
"""

from __future__ import annotations

import sys
from typing import Any

_LEAVES = (str, bytes, int, float, bool, type(None))


def deep_size(*roots: Any) -> int:
    seen: set[int] = set()
    total = 0
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, _LEAVES):
            continue
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__dict__"):
            stack.append(vars(obj))
        elif hasattr(type(obj), "__slots__"):
            stack.extend(getattr(obj, s) for s in type(obj).__slots__ if hasattr(obj, s))
    return total
