"""Glance's WSGI app for gunicorn (the `glance-api` script refuses to run standalone).

Cleared argv for the same reason as Keystone's loader: oslo.config reads it.
"""

import sys

sys.argv = sys.argv[:1]

from glance.wsgi.api import application  # noqa: E402

__all__ = ["application"]
