"""Glance's WSGI app for gunicorn (the `glance-api` script refuses to run standalone).

Cleared argv for the same reason as Keystone's loader: oslo.config reads it.

sqlite transactions start with BEGIN IMMEDIATE instead of oslo.db's plain (deferred)
BEGIN. With deferred transactions, one that has read and then wants to write while
another connection writes gets "database is locked" at once (sqlite's deadlock rule,
which skips the busy timeout): Glance's import tasks write from their own thread, and
8 of 125 imports polled by a client failed that way, leaving the image `queued`, or
`importing` for good (glance-direct); none of 120 since. Taking the write
lock when a transaction starts makes them wait their turn (sqlite's busy timeout, 5 s)
instead. See docs/image-data-probes.md.
"""

import sys

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

sys.argv = sys.argv[:1]


@event.listens_for(Engine, "begin")
def _begin_immediate(conn: Connection) -> None:
    # Registered before oslo.db's own "begin" listener (which emits BEGIN unless a
    # transaction is marked open), so it runs first and marks the transaction open.
    if conn.dialect.name == "sqlite" and "in_transaction" not in conn.info:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.info["in_transaction"] = True


from glance.wsgi.api import application  # noqa: E402

__all__ = ["application"]
