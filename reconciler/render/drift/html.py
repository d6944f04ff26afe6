"""The HTML view of a drift report: one self-contained page (inline CSS and script, no
external assets) with a summary, a filterable table of images and per-image field
diffs, to publish as a CI artifact. Pure: returns the page as a string.

The filter works without a server: type in the box or tick the states; the page keeps
the filter in the URL fragment (`#q=ubuntu&state=drifted,missing`), so a link can point
at a filtered view.
"""

from __future__ import annotations

from html import escape

from reconciler.planning.drift import DriftDocument, ImageDrift, State, TargetDrift
from reconciler.render.drift.common import LABELS, explain_violation, summary_line, title, value

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#1d2430;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.meta{color:#5b6472;margin-bottom:16px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:12px 0 20px}
.card{border:1px solid #d8dde6;border-radius:8px;padding:10px 16px;min-width:110px}
.card b{display:block;font-size:24px}
.controls{display:flex;gap:16px;align-items:center;flex-wrap:wrap;margin:8px 0 12px}
#q{padding:6px 10px;font-size:14px;width:280px;border:1px solid #b9c1cd;border-radius:6px}
table.images{border-collapse:collapse;width:100%}
table.images th,table.images td{border-bottom:1px solid #e3e7ee;padding:6px 8px;text-align:left;vertical-align:top}
table.images th{background:#f4f6f9}
.state{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600}
.s-in_sync{background:#e3f5e8;color:#1d6b34}.s-drifted{background:#fff1d6;color:#8a5300}
.s-missing{background:#e2eefe;color:#1a4f9c}.s-orphan,.s-unmanaged{background:#eee6fb;color:#5a2d9c}
.s-error{background:#fde4e4;color:#a11d1d}.s-violation{background:#fde8f3;color:#8c1d5c}
ul.violations{margin:6px 0 0;padding-left:18px;font-size:12px}
table.fields{border-collapse:collapse;margin-top:6px}
table.fields td,table.fields th{border:1px solid #e3e7ee;padding:3px 8px;font-family:ui-monospace,monospace;font-size:12px}
td.live{background:#fdecec}td.git{background:#e9f7ec}
.error{color:#a11d1d;font-weight:600}
code{font-family:ui-monospace,monospace}
"""

SCRIPT = """
(function(){
  var q=document.getElementById('q'),boxes=[].slice.call(document.querySelectorAll('input.state-filter'));
  var rows=[].slice.call(document.querySelectorAll('tr.image')),shown=document.getElementById('shown');
  function apply(){
    var text=q.value.trim().toLowerCase(),states={};
    boxes.forEach(function(b){if(b.checked)states[b.value]=1;});
    var n=0;
    rows.forEach(function(r){
      var ok=states[r.dataset.state]&&(!text||r.dataset.search.indexOf(text)>=0);
      r.hidden=!ok; if(ok)n++;
    });
    shown.textContent=n+' of '+rows.length+' images shown';
    var picked=boxes.filter(function(b){return b.checked;}).map(function(b){return b.value;});
    var hash='q='+encodeURIComponent(q.value)+'&state='+picked.join(',');
    if(location.hash.slice(1)!==hash)history.replaceState(null,'','#'+hash);
  }
  function load(){
    var params={};
    location.hash.slice(1).split('&').forEach(function(p){var kv=p.split('=');if(kv[0])params[kv[0]]=decodeURIComponent(kv[1]||'');});
    if('q' in params)q.value=params.q;
    if('state' in params){var s=params.state.split(',');boxes.forEach(function(b){b.checked=s.indexOf(b.value)>=0;});}
    apply();
  }
  q.addEventListener('input',apply);boxes.forEach(function(b){b.addEventListener('change',apply);});
  load();
})();
"""

DEFAULT_STATES = (
    State.DRIFTED,
    State.MISSING,
    State.ORPHAN,
    State.UNMANAGED,
    State.ERROR,
    State.VIOLATION,
)


def _violations(image: ImageDrift) -> str:
    if not image.violations:
        return ""
    items = "".join(
        f"<li class=v-{v.level}>{escape(explain_violation(v))}</li>" for v in image.violations
    )
    return f"<ul class=violations>{items}</ul>"


def _fields(image: ImageDrift) -> str:
    if not image.fields:
        return escape(image.message or "") + _violations(image)
    rows = []
    for field in image.fields:
        if field.only_in_git or field.only_in_cloud:
            live = "extra: " + ", ".join(field.only_in_cloud) if field.only_in_cloud else ""
            git = "missing: " + ", ".join(field.only_in_git) if field.only_in_git else ""
        else:
            live, git = value(field.live), value(field.git)
        rows.append(
            f"<tr><td>{escape(field.field)}</td><td class=live>{escape(live)}</td>"
            f"<td class=git>{escape(git)}</td></tr>"
        )
    noun = "field" if len(image.fields) == 1 else "fields"
    return (
        f"<details open><summary>{len(image.fields)} {noun}</summary>"
        "<table class=fields><tr><th>field</th><th>cloud</th><th>git</th></tr>"
        + "".join(rows)
        + "</table></details>"
        + _violations(image)
    )


def _row(report: TargetDrift, image: ImageDrift) -> str:
    search = " ".join(
        [image.name, image.id or "", image.state.value, report.target.name or ""]
        + [field.field for field in image.fields]
        + [violation.rule for violation in image.violations]
    ).lower()
    return (
        f'<tr class=image data-state="{image.state.value}" data-search="{escape(search)}">'
        f"<td><code>{escape(image.name)}</code><br><small>{escape(image.id or '')}</small></td>"
        f'<td><span class="state s-{image.state.value}">{escape(LABELS[image.state])}</span></td>'
        f"<td>{escape(report.target.name or report.target.region or '-')}</td>"
        f"<td>{_fields(image)}</td>"
        f"<td><small>{escape(image.source or '')}</small></td></tr>"
    )


def render_drift_html(document: DriftDocument) -> str:
    totals: dict[str, int] = {state.value: 0 for state in State}
    for report in document.targets:
        for state, count in report.summary.items():
            totals[state] += count
    cards = "".join(
        f'<div class="card" id="count-{state.value}"><b>{totals[state.value]}</b>'
        f"{escape(LABELS[state])}</div>"
        for state in State
    )
    boxes = "".join(
        f'<label><input type=checkbox class=state-filter value="{state.value}"'
        f"{' checked' if state in DEFAULT_STATES else ''}> {escape(LABELS[state])}</label>"
        for state in State
    )
    sections = []
    rows = []
    for report in document.targets:
        if report.error is not None:
            sections.append(
                f"<p class=error>{escape(title(report))}: not read: {escape(report.error)}</p>"
            )
        else:
            sections.append(f"<p>{escape(title(report))}: {escape(summary_line(report))}</p>")
        rows += [_row(report, image) for image in report.images]
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        "<title>reconciler drift report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>reconciler drift report</h1>"
        f"<div class=meta>generated {escape(document.generated_at)} by reconciler "
        f"{escape(document.tool_version)}</div>"
        f"<div class=cards>{cards}</div>" + "".join(sections) + "<h2>Images</h2>"
        f'<div class=controls><input id=q type=search placeholder="filter by name, id, field" '
        f'aria-label="filter">{boxes}<span id=shown></span></div>'
        "<table class=images><thead><tr><th>image</th><th>state</th><th>target</th>"
        "<th>differences (cloud vs git)</th><th>source</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
