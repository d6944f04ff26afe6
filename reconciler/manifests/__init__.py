"""Manifest files: YAML text -> validated `DesiredImage` values with file:line:col
errors (the format itself is `reconciler.model.manifest`), and the in-place rewrites of
`import --update` and `bump`."""
