"""summary.html: the sweep report as one self-contained page (plots embedded, no network).

Beside summary.md, for people who would rather look than read: the verdict, sortable
tables of groups and jobs (each job linked to its directory, config and curves, with its
test confusion matrix), and the plots.
"""

import base64
import html
import re
from pathlib import Path
from urllib.parse import quote

from textbench.reporting.predictions import confusion
from textbench.reporting.runs import Job, own_file, relative
from textbench.reporting.tables import Cell, Report, Table

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1200px;
       padding: 0 1em; color: #1a1a1a; }
h1 { margin-bottom: .3em; }
.verdict { font-size: 1.15em; background: #eef5ee; border-left: 4px solid #2e7d32;
           padding: .6em .9em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .3em .5em; text-align: left;
         vertical-align: top; }
th { background: #f4f4f4; cursor: pointer; user-select: none; white-space: nowrap; }
th[aria-sort=ascending]::after { content: " ▲"; }
th[aria-sort=descending]::after { content: " ▼"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr:hover td { background: #fafafa; }
code { font-size: .92em; background: #f4f4f4; padding: 0 .25em; border-radius: 3px; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
details table { width: auto; margin: .3em 0; } details td, details th { font-size: .9em; }
"""

# Click a header to sort by it (again: the other way); empty cells always sort last.
SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("thead th").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("thead th").forEach(function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      var numeric = th.classList.contains("num");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[column];
        var value = cell.getAttribute("data-sort");
        if (value === null || value === "") return null;
        return numeric ? parseFloat(value) : value.toLowerCase();
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) return (x === null) - (y === null);
        var order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _inline(text: str) -> str:
    """Escape text, showing markdown's `code` spans as <code>."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def _cell(cell: Cell, numeric: bool) -> str:
    sort = cell.text if cell.sort is None and not numeric else cell.sort
    attrs = f' data-sort="{html.escape(str(sort))}"' if sort is not None else ""
    attrs += ' class="num"' if numeric else ""
    text = html.escape(cell.text)
    if cell.code and text:
        text = f"<code>{text}</code>"
    if cell.link:
        text = f'<a href="{href(cell.link)}/">{text}</a>'
    return f"<td{attrs}>{text}</td>"


def href(path: str) -> str:
    """A link to a file of the report's folder: its path percent-quoted, so that no folder
    name (`javascript:...`, `"><script>`) becomes a scheme or markup."""
    return html.escape(quote(path, safe="/"))


def _table(table: Table, table_id: str, extra: tuple[tuple[str, list[str]], ...] = ()) -> str:
    """A sortable table; `extra` adds columns of ready HTML (sorted as text)."""
    heads = [
        f'<th scope="col"{" class=num" if i in table.numeric else ""}>{html.escape(h)}</th>'
        for i, h in enumerate(table.header)
    ] + [f'<th scope="col">{html.escape(name)}</th>' for name, _ in extra]
    rows = []
    for r, row in enumerate(table.rows):
        cells = [_cell(c, i in table.numeric) for i, c in enumerate(row)]
        cells += [f"<td>{column[r]}</td>" for _, column in extra]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="sortable" id="{table_id}"><thead><tr>{"".join(heads)}</tr></thead>'
        f"<tbody>\n{chr(10).join(rows)}\n</tbody></table>"
    )


def _job_files(job: Job, root: Path) -> str:
    """Links to a job's config and curves, and its test confusion matrix, folded."""
    saved = (".hydra/config.yaml", "resolved_config.yaml")
    config = next((n for n in saved if (job.path / n).is_file()), None)
    files = {"config": config, "curves": "curves.png", "log": "train.log"}
    links = [
        (f"{relative(job.path, root)}/{name}", label)
        for label, name in files.items()
        if name and own_file(job.path, name)
    ]
    parts = [" · ".join(f'<a href="{href(path)}">{label}</a>' for path, label in links)]
    matrix = confusion(job.path)
    if matrix:
        names, counts = matrix
        head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
        body = "".join(
            f"<tr><th>{html.escape(name)}</th>"
            + "".join(f'<td class="num">{c}</td>' for c in row)
            + "</tr>"
            for name, row in zip(names, counts, strict=True)
        )
        parts.append(
            "<details><summary>confusion matrix</summary>"
            f"<table><tr><th>true \\ predicted</th>{head}</tr>{body}</table></details>"
        )
    return "".join(parts)


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def render_html(report: Report, jobs: list[Job], plots: dict[str, Path], root: Path) -> str:
    """The whole page; `jobs` in the order of `report.jobs`' rows."""
    parts = ["<h1>Sweep summary</h1>"]
    if report.verdict:
        parts.append(f'<p class="verdict"><strong>Verdict</strong>: {_inline(report.verdict)}</p>')
    if report.test_verdict:
        parts.append(f"<p>On the test split: {_inline(report.test_verdict)}</p>")
    parts += [f"<p>{_inline(line)}</p>" for line in report.preamble]
    parts += ["<h2>Groups</h2>", _table(report.groups, "groups")]
    captions = {
        "groups": "Each group's mean and 95% confidence interval",
        "curves": "Validation curves: each group's mean, band from lowest to highest run",
    }
    figures = [_figure(plots[k], captions[k]) for k in ("groups", "curves") if k in plots]
    if figures:
        parts += ["<h2>Plots</h2>", *figures]
    files = [_job_files(job, root) for job in jobs]
    parts += ["<h2>Jobs</h2>", _table(report.jobs, "jobs", (("files", files),))]
    if report.failures:
        items = "".join(
            f"<li>{html.escape(job)}: {html.escape(error)}</li>" for job, error in report.failures
        )
        parts += ["<h2>Failures</h2>", f"<ul>{items}</ul>"]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Sweep summary</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(parts)
        + f"\n<script>{SCRIPT}</script>\n</body></html>\n"
    )
