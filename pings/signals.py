"""What the ping path tells other apps, after its write is committed."""

from django.dispatch import Signal

# A start or finish ping with a rid of REQUESTED_RID_VERSION was stored: kwargs `rid` (uuid),
# `started` (bool), `at`.
run_reported = Signal()

# Run ids that Vigil hands out itself (Run now, in triggers) carry this UUID version (8: RFC
# 9562's custom one), while clients make version 4: only their pings are reported, so every
# other ping stays at its statements and pays nothing.
REQUESTED_RID_VERSION = 8
