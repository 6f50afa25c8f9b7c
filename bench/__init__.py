"""The getStats benchmark (issue 5): a seeded dataset at scale, timings, a raw-SQL reference.

Run it with `make bench` or `manage.py bench_stats`; see bench/README.md.
"""
