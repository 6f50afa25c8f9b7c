"""Recommended production settings for gunicorn: `gunicorn -c python:asteragents.gunicorn_conf`.

Sync workers, 2 x cores + 1, each with one persistent database connection
(DATABASE_CONN_MAX_AGE). A sync worker closes the connection after each response, so the
kernel spreads requests over the workers; threaded workers kept each client's keep-alive
connection on one process, and `make load` saw one worker of three doing all the work.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1))
worker_class = "sync"
# Well above the statement timeout (5 s): a worker is killed only when it is truly stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
# Recycle workers now and then so no slow leak lives forever.
max_requests = 20000
max_requests_jitter = 2000
wsgi_app = "asteragents.wsgi:application"
