"""Keystone's WSGI app for gunicorn.

Keystone parses the process's own command line with oslo.config, so gunicorn's
arguments ("-b ...") make it exit; clear them before importing the app.
"""

import sys

sys.argv = sys.argv[:1]

from keystone.wsgi.api import application  # noqa: E402

__all__ = ["application"]
