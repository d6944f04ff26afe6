"""Upstream sources: where distributions publish their newest builds, and how
`reconciler bump` finds them. `versions`, `checksums` and `index` are pure (text in,
values out); `fetch` (HTTP), `signature` (gpgv) and `watch` (resolving a `source.watch`
block to its newest build) do I/O, reads only. Nothing here talks to a cloud.
"""
