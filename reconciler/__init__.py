"""reconciler: GitOps for OpenStack image catalogs.

The pipeline, one module (or package) per stage (docs/architecture.md has the layers
and what to touch to add things):

    manifests/  YAML -> validated desired images, the run's catalog (reads files)
    cloud/      authentication, the Glance v2 HTTP client and its protocol (network I/O)
    live.py     the live images in scope (reads through cloud/)
    diff.py     desired x live -> Plan (pure)
    plan.py     the plan value types (pure); report.py: apply's result types (pure)
    planfile.py plan <-> JSON document (file I/O in save/read only)
    render/     views per report kind: plan, drift, apply (pure)
    steps.py    the step kinds, each with its reverse (sends through cloud/)
    apply.py    the one module that carries out a plan and rolls back
    journal.py  crash journal for apply (file I/O)
    cli/        thin typer commands
    sandbox/    a real Keystone + Glance on loopback, for demos and tests
"""

__version__ = "0.1.0"
