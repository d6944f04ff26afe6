"""The bump report as text, JSON and Markdown. Pure."""

from __future__ import annotations

import json
from typing import Any

from reconciler.upstream.model import BumpReport, BumpResult, BumpStatus


def _short(checksum: str | None) -> str:
    if not checksum:
        return "-"
    algorithm, _sep, digest = checksum.partition(":")
    return f"{algorithm}:{digest[:12]}…"


def _old(result: BumpResult) -> str:
    return result.entry.version or _name(result.entry.url)


def _name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def summary_line(report: BumpReport) -> str:
    updated = "would update" if report.dry_run else "updated"
    return (
        f"Bump: {report.count(BumpStatus.UPDATED)} {updated}, "
        f"{report.count(BumpStatus.CURRENT)} current, {report.count(BumpStatus.FAILED)} failed "
        f"({report.requests} upstream requests, {report.seconds:.1f}s)."
    )


def render_text(report: BumpReport) -> str:
    lines = []
    for result in report.results:
        entry, build = result.entry, result.build
        head = f"{entry.name} ({entry.where})"
        if result.status is BumpStatus.FAILED:
            lines.append(f"✗ {head}: failed: {result.reason}")
        elif result.status is BumpStatus.CURRENT:
            lines.append(f"  {head}: current ({build.version if build else '?'})")
        else:
            assert build is not None
            signed = ", signature verified" if build.signed else ""
            lines.append(
                f"↑ {head}: {_old(result)} -> {build.version} ({_short(result.checksum)}"
                f"{signed}; {build.checksums_url})"
            )
            if result.changes:
                lines.append(f"    {', '.join(result.changes)}")
        for note in build.notes if build else ():
            lines.append(f"    note: {note}")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def _result_dict(result: BumpResult) -> dict[str, Any]:
    entry, build = result.entry, result.build
    return {
        "name": entry.name,
        "file": str(entry.file),
        "line": entry.line,
        "status": str(result.status),
        "old": {"version": entry.version, "url": entry.url, "checksum": entry.checksum},
        "new": (
            {
                "version": build.version,
                "url": build.url,
                "checksum": result.checksum,
                "build_date": result.build_date,
            }
            if build is not None and result.status is BumpStatus.UPDATED
            else None
        ),
        "checksums_url": build.checksums_url if build else None,
        "signed": build.signed if build else False,
        "changes": list(result.changes),
        "notes": list(build.notes) if build else [],
        "reason": result.reason or None,
    }


def render_json(report: BumpReport) -> str:
    document = {
        "format_version": 1,
        "dry_run": report.dry_run,
        "counts": {str(status): report.count(status) for status in BumpStatus},
        "exit_code": report.exit_code,
        "requests": report.requests,
        "entries": [_result_dict(result) for result in report.results],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: BumpReport) -> str:
    """A pull request's body: a row per updated entry, then the entries that failed."""
    updated = [r for r in report.results if r.status is BumpStatus.UPDATED]
    failed = [r for r in report.results if r.status is BumpStatus.FAILED]
    lines = [f"## Image catalog: {len(updated)} new upstream build{'s' * (len(updated) != 1)}", ""]
    if updated:
        lines += [
            "| Image | Version | Checksum | From | Manifest |",
            "|---|---|---|---|---|",
        ]
        for result in updated:
            build = result.build
            assert build is not None
            signed = " (signature verified)" if build.signed else ""
            lines.append(
                f"| `{_cell(result.entry.name)}` | {_cell(_old(result))} → "
                f"**{_cell(build.version)}** | `{_short(result.checksum)}` | "
                f"[{_cell(_name(build.checksums_url))}]({build.checksums_url}){signed} | "
                f"`{_cell(result.entry.where)}` |"
            )
        lines.append("")
    if failed:
        lines += [f"### Not updated ({len(failed)})", ""]
        for result in failed:
            lines.append(
                f"- `{_cell(result.entry.name)}` (`{result.entry.where}`): {_cell(result.reason)}"
            )
        lines.append("")
    current = report.count(BumpStatus.CURRENT)
    lines.append(
        f"{current} other entr{'y is' if current == 1 else 'ies are'} current. Written by "
        "`reconciler bump`; the images are built when this is merged and applied."
    )
    return "\n".join(lines) + "\n"
