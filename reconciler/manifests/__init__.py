"""Manifests: YAML files -> validated `DesiredImage` values, with file:line:col errors."""
