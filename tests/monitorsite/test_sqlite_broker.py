"""The embedded broker (monitorsite/sqlite_broker.py) through kombu, on a real SQLite file.

Consumers and producers run as separate processes, as `make run`'s do: nothing is lost
or delivered twice while they live, and a killed consumer's message goes to another.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from kombu import Connection

from monitorsite.sqlite_broker import RECLAIM_EVERY_SECONDS, database_path

TRANSPORT = "monitorsite.sqlite_broker:Transport"
REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite-broker://{tmp_path / 'broker.sqlite3'}"


@pytest.fixture
def connection(url: str) -> Iterator[Connection]:
    with Connection(url, transport=TRANSPORT) as conn:
        yield conn


def run_python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_url_names_the_file() -> None:
    assert database_path("sqlite-broker:///var/vigil/broker.sqlite3") == "/var/vigil/broker.sqlite3"
    with pytest.raises(ValueError, match="absolute"):
        database_path("sqlite-broker://relative.sqlite3")


def test_an_acknowledged_message_is_gone_and_a_requeued_one_comes_back_first(connection: Connection) -> None:
    queue = connection.SimpleQueue("jobs")
    for body in ("first", "second"):
        queue.put({"job": body})
    assert queue.qsize() == 2

    first = queue.get(timeout=2)
    assert first.payload == {"job": "first"}
    first.requeue()
    again = queue.get(timeout=2)
    assert again.payload == {"job": "first"}
    again.ack()
    second = queue.get(timeout=2)
    assert second.payload == {"job": "second"}
    second.reject()

    assert queue.qsize() == 0
    with pytest.raises(queue.Empty):
        queue.get(timeout=0.3)
    queue.close()


def test_a_message_held_by_a_killed_consumer_is_delivered_to_the_next(
    url: str, connection: Connection
) -> None:
    queue = connection.SimpleQueue("jobs")
    queue.put({"job": "survives"})
    holder = run_python(
        """
        import sys, time
        from kombu import Connection
        with Connection(sys.argv[1], transport=sys.argv[2]) as conn:
            message = conn.SimpleQueue("jobs").get(timeout=10)
            print(message.payload["job"], flush=True)
            time.sleep(60)
        """,
        url,
        TRANSPORT,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "survives"
    # Taken and not acknowledged: nobody else may have it while its holder lives.
    with pytest.raises(queue.Empty):
        queue.get(timeout=RECLAIM_EVERY_SECONDS + 0.5)
    holder.send_signal(signal.SIGKILL)
    holder.wait()

    message = queue.get(timeout=RECLAIM_EVERY_SECONDS * 3)
    assert message.payload == {"job": "survives"}
    message.ack()
    assert queue.qsize() == 0
    queue.close()


# Takes messages until the queue is empty once the producers are done (the file in argv[3] exists).
CONSUMER = """
import os, sys
from kombu import Connection
seen = []
with Connection(sys.argv[1], transport=sys.argv[2]) as conn:
    queue = conn.SimpleQueue("jobs")
    while True:
        try:
            message = queue.get(timeout=0.5)
        except queue.Empty:
            if os.path.exists(sys.argv[3]):
                break
            continue
        seen.append(message.payload["n"])
        message.ack()
print(" ".join(map(str, seen)))
"""

PRODUCER = """
import sys
from kombu import Connection
with Connection(sys.argv[1], transport=sys.argv[2]) as conn:
    queue = conn.SimpleQueue("jobs")
    for n in range(int(sys.argv[3]), int(sys.argv[4])):
        queue.put({"n": n})
"""


@pytest.mark.slow
def test_producers_and_consumers_in_separate_processes_lose_and_repeat_nothing(
    url: str, tmp_path: Path
) -> None:
    per_producer = 400
    done = tmp_path / "producers-done"
    consumers = [run_python(CONSUMER, url, TRANSPORT, str(done)) for _ in range(3)]
    producers = [
        run_python(PRODUCER, url, TRANSPORT, str(i * per_producer), str((i + 1) * per_producer))
        for i in range(3)
    ]
    for producer in producers:
        _, errors = producer.communicate(timeout=120)
        assert producer.returncode == 0, errors
    done.touch()
    seen: Counter[int] = Counter()
    for consumer in consumers:
        output, errors = consumer.communicate(timeout=120)
        assert consumer.returncode == 0, errors
        seen.update(int(n) for n in output.split())
    assert seen == Counter(range(3 * per_producer))
