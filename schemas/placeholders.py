"""Values that name nobody: ``null``, ``n/a``, all-zero ids. Identity stitching never
links them, and an email whose mailbox is one is not hashed as a real address."""

from __future__ import annotations

import re
import unicodedata

PLACEHOLDERS = frozenset(
    {"", "null", "none", "nil", "nan", "anonymous", "anon", "unknown", "undefined", "n/a",
     "#n/a", "-1", "(null)", "<null>"}
)  # fmt: skip
_ALL_ZERO = re.compile(r"^(0x)?[0\-_.:\s]+$")
_WRAPPERS = "{}[]\"' \t\u200b\x00@"  # around a placeholder: "null", {0000-...}, @anonymous


def placeholder_form(value: str) -> str:
    """A value as placeholders are compared: Unicode-folded (fullwidth letters),
    lower-cased, without wrapping quotes, braces, spaces or a leading @."""
    return unicodedata.normalize("NFKC", value).strip(_WRAPPERS).lower()


def is_placeholder(value: str, placeholders: frozenset[str] = PLACEHOLDERS) -> bool:
    """Whether ``value`` is one of ``placeholders`` (given in ``placeholder_form``)
    or all zeros (``0000``, a nil UUID, ``0x0``)."""
    form = placeholder_form(value)
    return form in placeholders or bool(_ALL_ZERO.match(form))
