"""The values every stage shares: the manifest format and the merged `DesiredImage`,
an image's comparable view, the plan and its JSON form, an apply's report. Pure: no I/O
(an import-linter contract keeps the whole package so)."""
