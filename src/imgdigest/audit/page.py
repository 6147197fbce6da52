"""The audit as one self-contained HTML page: a table per namespace, findings highlighted.

No external asset (style and script are inline), so the page can be attached to a CI run
or mailed as is. Every text from the input is escaped. The small script only adds a
"findings only" switch and counts the rows; the tables are complete without it.
"""

from __future__ import annotations

from html import escape
from itertools import groupby
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgdigest.audit.model import AuditReport, ContainerAudit, RunningDigest, WorkloadAudit

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%;margin-bottom:2em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
code{font:12px ui-monospace,monospace;word-break:break-all}
tr.has-finding{background:#fff3cd}
.finding{display:inline-block;border-radius:3px;padding:0 6px;margin:1px;font-weight:600;
color:#fff;background:#b02a37}
.finding-unpinned{background:#9a6700}
.finding-mixed{background:#6f42c1}
.finding-stale{background:#bc4c00}
.finding-mismatch{background:#b02a37}
.finding-not-running{background:#57606a}
ul.tree{margin:2px 0 2px 1em;padding-left:1em}
.summary span{margin-right:1.5em}
body.findings-only tr.ok{display:none}
"""

_SCRIPT = """
(function(){
  var rows=document.querySelectorAll('tbody tr');
  var bad=document.querySelectorAll('tbody tr.has-finding');
  var out=document.getElementById('rows');
  out.textContent=rows.length+' rows, '+bad.length+' with findings';
  var box=document.getElementById('only');
  box.disabled=false;
  box.addEventListener('change',function(){
    document.body.classList.toggle('findings-only',box.checked);
  });
  document.body.setAttribute('data-ready','1');
})();
"""


def render(report: AuditReport) -> str:
    s = report.summary()
    parts = [
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        "<title>imgdigest audit</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>What the cluster runs</h1>",
        '<p class="summary">',
        f"<span>{s['pods']} pods</span><span>{s['workloads']} workloads</span>",
        *(
            f'<span class="count" data-problem="{p}">{p}: {s[p]}</span>'
            for p in ("mixed", "unpinned", "stale", "mismatch", "not-running")
        ),
        "</p>",
        '<p><label><input type="checkbox" id="only" disabled> findings only</label> ',
        '<span id="rows"></span></p>',
    ]
    if report.lock:
        parts.append("<p>Offline: <em>stale</em> was judged against a lock file.</p>")
    elif report.offline:
        parts.append("<p>Offline: <em>stale</em> was not checked.</p>")
    for note in report.notes:
        parts.append(f'<p class="note">{escape(note)}</p>')
    for failure in report.failures:
        parts.append(f'<p class="failure">{escape(str(failure))}</p>')
    for namespace, workloads in groupby(report.workloads, key=lambda w: w.namespace):
        parts.append(_namespace(namespace, list(workloads)))
    parts.append(f"<script>{_SCRIPT}</script></body></html>\n")
    return "\n".join(parts)


def _namespace(namespace: str, workloads: list[WorkloadAudit]) -> str:
    rows = [_row(w, c) for w in workloads for c in w.containers]
    return (
        f'<section data-namespace="{escape(namespace)}"><h2>namespace {escape(namespace)}</h2>'
        "<table><thead><tr><th>workload</th><th>container</th><th>spec image</th>"
        "<th>running digests (pods)</th><th>findings</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></section>"
    )


def _row(w: WorkloadAudit, c: ContainerAudit) -> str:
    problems = list(dict.fromkeys(f.problem for f in c.findings))
    css = "has-finding" if problems else "ok"
    badges = "".join(f'<span class="finding finding-{p}">{p}</span>' for p in problems)
    details = "".join(f"<div>{escape(f.detail)}</div>" for f in c.findings)
    role = "" if c.role == "container" else f" ({c.role})"
    spec = "<br>".join(f"<code>{escape(i)}</code>" for i in c.spec) or "<em>unknown</em>"
    running = "".join(_running(r) for r in c.running)
    return (
        f'<tr class="{css}" data-workload="{escape(w.kind)}/{escape(w.name)}" '
        f'data-container="{escape(c.name)}" data-findings="{" ".join(problems)}">'
        f"<td>{escape(w.kind)}/{escape(w.name)}</td><td>{escape(c.name)}{role}</td>"
        f"<td>{spec}</td><td>{running}</td><td>{badges}{details}</td></tr>"
    )


def _running(r: RunningDigest) -> str:
    label = {
        "manifest": "",
        "image-id": " image ID only (config digest): the manifest digest is unknown",
        "none": " no image reported yet",
        "unreadable": " imageID in an unknown form",
    }[r.kind]
    digest = f"<code>{escape(r.digest)}</code>" if r.digest else ""
    head = f'<div class="running">{digest}{escape(label)} × {r.pods}</div>'
    if r.tree is None:
        return head
    tree = r.tree
    kids = "".join(
        "<li><code>{}</code> {}</li>".format(
            escape(ch.digest),
            escape(
                ("attestation" if ch.attestation else "")
                or (_platform(ch.platform) if ch.platform else ch.media_type)
            ),
        )
        for ch in tree.children
    )
    inner = f'<ul class="tree">{kids}</ul>' if kids else ""
    return (
        f'{head}<ul class="tree"><li>{escape(r.name or "")} → {escape(tree.kind)} '
        f"<code>{escape(tree.digest)}</code>{inner}</li></ul>"
    )


def _platform(platform: object) -> str:
    from imgdigest.platform import format_all

    return format_all(platform)  # type: ignore[arg-type]
