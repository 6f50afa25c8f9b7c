"""Recommended production settings for gunicorn: `gunicorn -c python:asteragents.gunicorn_conf`.

getStats spends most of a request waiting on PostgreSQL, so threads overlap that wait while
processes use the cores; each thread keeps its own persistent database connection
(DATABASE_CONN_MAX_AGE).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# Well above the statement timeout (5 s): a worker is killed only when it is truly stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 10
keepalive = 5
# Recycle workers now and then so no slow leak lives forever.
max_requests = 20000
max_requests_jitter = 2000
wsgi_app = "asteragents.wsgi:application"
