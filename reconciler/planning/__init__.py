"""The pure stages between reading and writing: targets, the diff (desired x live ->
plan), builds and rotation, stores, drift, and `import`'s live image -> manifest entry.
No I/O, no clock (an import-linter contract keeps the whole package so)."""
