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


def storable_text(text: str) -> str:
    """`text` as any column can hold it: NUL characters dropped, lone surrogates replaced (U+FFFD)."""
    if is_storable_text(text):
        return text
    return text.replace("\x00", "").encode("utf-8", "surrogatepass").decode("utf-8", "replace")
