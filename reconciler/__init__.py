"""reconciler: GitOps for OpenStack image catalogs.

The pipeline, one module (or package) per stage:

    manifests/  YAML -> validated desired images (no I/O beyond reading files)
    cloud/      authentication and the Glance v2 HTTP client (network I/O)
    live.py     the live images in scope (reads through cloud/)
    diff.py     desired x live -> Plan (pure)
    plan.py     the plan value types (pure)
    planfile.py plan <-> JSON file (file I/O)
    render/     plan views: text, JSON, Markdown (pure)
    apply.py    the one module that writes to the cloud
    journal.py  crash journal for apply (file I/O)
    cli/        thin typer commands
    sandbox/    a real Keystone + Glance on loopback, for demos and tests
"""

__version__ = "0.1.0"
