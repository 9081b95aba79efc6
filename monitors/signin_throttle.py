"""Sign-in throttling: after SIGNIN_MAX_FAILURES failures for one username from one address,
each less than SIGNIN_LOCKOUT_SECONDS after the one before, attempts are refused until
SIGNIN_LOCKOUT_SECONDS have passed since the last failure. Refused attempts are not counted,
so waiting always ends the lock.

Counted in Django's cache: Redis in production (atomic increments), the file cache under
`make run` (per process, good enough for one small site).
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(username: str, address: str) -> str:
    # Hashed: usernames are user input of any length and characters; cache keys are not.
    digest = hashlib.sha256(f"{username.strip().casefold()}\0{address}".encode()).hexdigest()
    return f"vigil:signin-failures:{digest}"


def signin_locked(*, username: str, address: str) -> bool:
    failures = cache.get(_key(username, address), 0)
    return isinstance(failures, int) and failures >= settings.SIGNIN_MAX_FAILURES


def signin_failed(*, username: str, address: str) -> None:
    key = _key(username, address)
    timeout = settings.SIGNIN_LOCKOUT_SECONDS
    if cache.add(key, 1, timeout=timeout):
        return
    try:
        # Atomic on Redis, so parallel guesses cannot all read the same count.
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=timeout)
        return
    # incr() keeps Redis's expiry but resets the file cache's to its default: set it alike.
    cache.touch(key, timeout)


def signin_succeeded(*, username: str, address: str) -> None:
    cache.delete(_key(username, address))


def lockout_minutes() -> int:
    return max(1, round(settings.SIGNIN_LOCKOUT_SECONDS / 60))
