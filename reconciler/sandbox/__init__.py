"""A real Keystone and a real Glance (from PyPI) on loopback, for demos and tests.

`up` bootstraps both services into a state folder (sqlite databases, the `fs` store,
config files, pid files, logs) and runs each under gunicorn on 127.0.0.1. This package
does process and file I/O; it is never imported by the reconciling pipeline.
"""
