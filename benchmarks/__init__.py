"""Benchmarks: reconciler against the physical limit (bare `requests` loops doing only
the unavoidable round trips) and against the ways users do the job today (openstacksdk
loops, `openstack image set`), measured side by side in one run on one sandbox.

Run with `make bench` or `python -m benchmarks --help`. Not part of `make test`.
"""
