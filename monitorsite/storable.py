"""What text a database column can hold on every backend Vigil runs on."""

from __future__ import annotations


def is_storable_text(text: str) -> bool:
    """PostgreSQL refuses NUL characters in text and JSON, and a lone surrogate has no UTF-8 form."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
