"""Gunicorn settings for every way Vigil is served: `make run` (runall), the Dockerfile,
docker-compose.yml and bench/ping_throughput.sh all pass `--config python:monitorsite.gunicorn_conf`.

Threads, not sync workers (README, "The web server"): a sync worker is one request at a
time, so two clients that send half a request and wait hold both workers of `make run`
and every ping queues behind them. A gthread worker parks idle keep-alive connections
in its event loop and gives each request a thread: a stalled client costs one thread of
THREADS, and the other threads keep answering; they also overlap PostgreSQL's commit
waits. Command-line options (e.g. `--workers 4`) override these.
"""

from monitorsite.env import envint

worker_class = "monitorsite.gunicorn_worker.ThreadWorker"
# Processes; gunicorn's own WEB_CONCURRENCY convention.
workers = envint("WEB_CONCURRENCY", 2, minimum=1)
# Per process. More than the stalled clients one worker may be handed: the kernel gives
# a new connection to whichever worker accepts first, and a worker with every thread held
# would still accept, and then queue, the next ping.
threads = envint("WEB_THREADS", 16, minimum=1)
# A request whose client sends nothing for this long is dropped (monitorsite.gunicorn_worker).
timeout = 30
