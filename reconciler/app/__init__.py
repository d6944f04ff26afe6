"""The application layer: what a command runs, without its arguments or its views.
Load the manifests once (their policy positions from the same parse), resolve targets,
connect, list, diff, probe; the commands in `reconciler.cli` parse arguments, call this,
choose a view and return an exit code."""
