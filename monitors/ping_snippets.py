"""Ready-to-paste ways of reporting a job to its ping URL, as the monitor page shows them.

Each is a whole, working line (the tests run them against a live server); only the job's
command (`JOB`) is a placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass

JOB = "/path/to/job.sh"
CURL = "curl -fsS -m 10 --retry 5"


@dataclass(frozen=True)
class Snippet:
    id: str  # the element id the Copy button copies from
    title: str
    text: str
    help: str


def ping_snippets(ping_url: str, *, body_limit: int) -> list[Snippet]:
    kept = f"{body_limit // 1000:,} kB" if body_limit >= 1000 else f"{body_limit} bytes"
    return [
        Snippet(
            id="snippet-success",
            title="Success",
            text=f'{CURL} "{ping_url}"',
            help="At the end of the job, or after it in the cron line with &&.",
        ),
        Snippet(
            id="snippet-start",
            title="Start",
            text=f'{CURL} "{ping_url}/start"',
            help="When the job begins: Vigil then measures its duration and sees it hang.",
        ),
        Snippet(
            id="snippet-exit-status",
            title="Exit status with the output as log",
            # $? in the pipe is the status of the assignment before it: the job's own.
            text=f'm=$({JOB} 2>&1); echo "$m" | {CURL} --data-binary @- "{ping_url}/$?"',
            help=f"0 is a success, anything else a failure; the last {kept} of the output are kept.",
        ),
        Snippet(
            id="snippet-vigil-run",
            title="vigil run",
            text=f'vigil run --url "{ping_url}" -- {JOB}',
            help="Sends start, then the exit status, duration and output; exits as the job does.",
        ),
        Snippet(
            id="snippet-python",
            title="Python",
            text=f'from vigil_client import monitor\n\n@monitor(url="{ping_url}")\ndef job():\n    ...',
            help="Each call is one run: start, then success, or a failure with the traceback.",
        ),
    ]
