"""What the ping path tells other apps, after its write is committed."""

from django.dispatch import Signal

# A start or finish ping with a rid was stored: kwargs `rid` (uuid), `started` (bool), `at`.
run_reported = Signal()
