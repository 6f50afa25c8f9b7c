"""Create and drop the bench's PostgreSQL databases, given a DATABASE_URL.

`python -m bench.databases ensure URL` creates the database if it is missing (make bench
runs it before `migrate`, so it needs psycopg only, no Django).
"""

import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql


def database_name(url: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(url)["dbname"]


def with_database(url: str, name: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _server(url: str) -> psycopg.Connection:
    """A connection to the server's maintenance database (CREATE DATABASE needs autocommit)."""
    return psycopg.connect(url, dbname="postgres", autocommit=True, connect_timeout=5)


def ensure_database(url: str) -> bool:
    """Create the database of `url` unless it exists; True when it was created."""
    name = database_name(url)
    with _server(url) as server:
        if server.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def recreate_database(url: str) -> None:
    drop_database(url)
    ensure_database(url)


def drop_database(url: str) -> None:
    name = database_name(url)
    with _server(url) as server:
        server.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "ensure":
        print("usage: python -m bench.databases ensure DATABASE_URL", file=sys.stderr)
        return 2
    name = database_name(argv[1])
    if ensure_database(argv[1]):
        print(f"Created database {name}.")
    else:
        print(f"Database {name} exists.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
