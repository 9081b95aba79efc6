"""Vigil client: the `vigil` command and a small SDK for reporting job runs to a Vigil server."""

from __future__ import annotations

# Defined before the imports below: transport reads it while they load.
__version__ = "0.1.0"

from vigil_client.sdk import Monitor, Run, current_run, monitor

__all__ = ["Monitor", "Run", "__version__", "current_run", "monitor"]
