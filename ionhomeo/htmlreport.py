"""The HTML report of ``ionhomeo run all``: ``index.html`` in its output folder.

One page, readable from disk (its style is inline; its figures are the
protocols' PNGs, linked relatively, ``<name>/<name>.png``): an overview of
every protocol's result, then a section per protocol with its figure, its
checks as PASS or FAIL with the values obtained and expected and where the
expectation comes from, its notes, the recipes it ran on and whether they
were calibrated, its options and its files; at the top the provenance of the
run (versions, the command, when). Everything but the command is read from
the protocols' JSON records, so the page says what the files say.

A small script in the page counts the figures that loaded and says so at the
top (``#figures-status``, with ``data-loaded`` and ``data-expected``): a page
moved away from its folders says that its figures are missing.
"""

from __future__ import annotations

import datetime
import html
import json
import re
from pathlib import Path

__all__ = ["write_index", "page"]

STATUS_CLASS = {"PASS": "pass", "FAIL": "fail", "error": "error", "no check": "none"}

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1200px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.55em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.badge { display: inline-block; padding: 0.05em 0.55em; border-radius: 0.3em; color: white;
         font-weight: 600; font-size: 0.85em; }
.pass { background: #2e7d32; } .fail { background: #c62828; } .error { background: #6a1b9a; }
.none { background: #757575; }
tr.row-fail td { background: #fdecea; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.9em; color: #555; }
.note { color: #8a4b00; } .muted { color: #666; font-size: 0.9em; }
#figures-status.missing { color: #c62828; font-weight: 600; }
code { background: #f5f5f5; padding: 0 0.2em; }
"""

#: counts the figures that loaded once the page has (naturalWidth > 0: decoded)
_SCRIPT = """
window.addEventListener("load", function () {
  var figures = Array.prototype.slice.call(document.querySelectorAll("img.figure"));
  var loaded = figures.filter(function (img) { return img.complete && img.naturalWidth > 0; });
  var missing = figures.filter(function (img) { return loaded.indexOf(img) < 0; });
  var status = document.getElementById("figures-status");
  status.setAttribute("data-loaded", String(loaded.length));
  status.setAttribute("data-expected", String(figures.length));
  if (missing.length) {
    status.className = "missing";
    status.textContent = missing.length + " of " + figures.length + " figures could not be " +
      "loaded (is this page still beside the protocols' folders?): " +
      missing.map(function (img) { return img.getAttribute("src"); }).join(", ");
  } else {
    status.textContent = "Every figure is shown (" + figures.length + ").";
  }
});
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


#: ASCII spellings in the protocols' text (descriptions, sources, notes: plain
#: ASCII, as printed on any terminal) and how the page writes them
_HUMAN = [(re.compile(r"(\d)\s?u(M|m|A|S|V|s)\b"), "\\1 \u00b5\\2"),
          (re.compile(r"(\d)\s?um2\b"), "\\1 \u00b5m\u00b2"),
          (re.compile(r"\bR\^2\b"), "R\u00b2"), (re.compile(r"\+/-"), "\u00b1")]


def _human(text) -> str:
    """``text`` with units and signs as people write them (3 uM: 3 µM, R^2: R²)."""
    text = str(text)
    for pattern, repl in _HUMAN:
        text = pattern.sub(repl, text)
    return text


def _unit(unit) -> str:
    from .plotting import pretty_unit

    return pretty_unit(unit or "")


def _number(x) -> str:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return "" if x is None else str(x)
    return f"{x:.6g}".replace("-", "\u2212")


def _read(out: Path, name: str):
    path = out / name / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _recipes(meta) -> str:
    def state(r):
        if not r.get("calibrated"):
            return "not calibrated"
        return f"calibrated ({r['method']})" if r.get("method") else "calibrated"

    recipes = meta.get("recipes") or []
    return ", ".join(f"{_e(r['name'])}: {_e(state(r))}" for r in recipes) or "none recorded"


def _checks_table(checks) -> str:
    if not checks:
        return "<p class='muted'>This protocol has no checks.</p>"
    rows = []
    for c in checks:
        result = "PASS" if c.get("passed") else "FAIL"
        unit = "" if c.get("relation") == "holds" else _unit(c.get("unit"))
        criterion = str(c.get("criterion", "")).replace("+/-", "\u00b1") \
            .replace("<=", "\u2264").replace(">=", "\u2265")
        if unit and c.get("unit"):
            criterion = criterion.replace(f" {c['unit']}", f" {unit}")
        kind = STATUS_CLASS[result]
        rows.append(
            f"<tr class='row-{kind}'><td><span class='badge {kind}'>{result}</span></td>"
            f"<td>{_e(c.get('name'))}</td>"
            f"<td class='num'>{_e(_number(c.get('obtained')))} {_e(unit)}</td>"
            f"<td>{_e(_human(criterion))}</td><td>{_e(_human(c.get('source')))}"
            + (f"<br><span class='muted'>tolerance: {_e(_human(c['why']))}</span>"
               if c.get("why") else "")
            + "</td></tr>")
    return ("<table class='checks'><tr><th>result</th><th>check</th><th>obtained</th>"
            "<th>expected</th><th>expectation from</th></tr>" + "".join(rows) + "</table>")


def _options(spec) -> str:
    rows = []
    for key, value in (spec or {}).items():
        if isinstance(value, dict) and "value" in value:
            value = f"{value['value']} {_unit(value.get('unit'))}"
        rows.append(f"<tr><td>{_e(key)}</td><td>{_e(value)}</td></tr>")
    return "<table>" + "".join(rows) + "</table>" if rows else ""


def _section(out: Path, name: str, description: str, status: str, text: str, meta) -> str:
    parts = [f"<section class='protocol' id='{_e(name)}' data-status='{_e(status)}'>",
             f"<h2>{_e(name)} <span class='badge {STATUS_CLASS.get(status, 'none')}'>"
             f"{_e(status)}</span></h2>", f"<p>{_e(description)}</p>"]
    if status == "error" or meta is None:
        parts.append(f"<p class='note'>The protocol did not finish: <code>{_e(text)}</code></p>")
        return "\n".join(parts + ["</section>"])
    idealised = meta.get("idealised")
    parts.append(f"<p><b>Recipe:</b> {_recipes(meta)}"
                 + (f"<br><b>Idealised:</b> {_e(_human(idealised))}" if idealised else "")
                 + "</p>")
    parts.append(_checks_table(meta.get("checks") or []))
    notes = [w for w in meta.get("warnings") or [] if not str(w).startswith("check failed:")]
    if notes:
        parts.append("<ul>" + "".join(f"<li class='note'>{_e(_human(w))}</li>" for w in notes)
                     + "</ul>")
    figure = meta.get("figure") or {}
    png = out / name / f"{name}.png"
    if png.exists():
        src = f"{name}/{name}.png"
        caption = figure.get("title") or name
        parts.append(f"<figure><a href='{_e(src)}'><img class='figure' src='{_e(src)}' "
                     f"alt='{_e(caption)}' loading='eager'></a>"
                     f"<figcaption>{_e(caption)}</figcaption></figure>")
    else:
        parts.append("<p class='note'>No figure was written.</p>")
    files = [f["file"] for f in meta.get("files") or [] if isinstance(f, dict)]
    files.append(f"{name}.json")
    parts.append("<p class='muted'>Files: " + ", ".join(
        f"<a href='{_e(name)}/{_e(f)}'>{_e(f)}</a>" for f in files) + "</p>")
    runtime = meta.get("runtime_s")
    parts.append(f"<details><summary>Options and provenance</summary>{_options(meta.get('spec'))}"
                 f"<p class='muted'>run at {_e(meta.get('timestamp_utc', '?'))}"
                 + (f", {runtime:.1f} s" if isinstance(runtime, (int, float)) else "")
                 + f"; mechanisms {_e(meta.get('mod_source_hash') or '?')}</p></details>")
    return "\n".join(parts + ["</section>"])


def page(out, rows, command: str, generated: str | None = None) -> str:
    """The report as HTML text. ``rows``: (name, description, status, text) per
    protocol in order, status "PASS", "FAIL", "no check" or "error" (text: the
    error); each protocol's record is read from ``out/<name>/<name>.json``."""
    out = Path(out)
    generated = generated or datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")
    metas = {name: (_read(out, name) if status != "error" else None)
             for name, _, status, _ in rows}
    for name, _, status, text in rows:  # a record without its checks: the printed lines
        meta = metas[name]
        if meta is not None and "checks" not in meta and text:
            meta["checks"] = [{"name": line[6:], "passed": line.startswith("PASS"),
                               "relation": "holds", "criterion": "", "source": ""}
                              for line in text.splitlines() if line[:4] in ("PASS", "FAIL")]
    # the versions are the process's, the same in every record that has them
    first = next((m for m in metas.values() if m and m.get("ionhomeo_version")), {})
    counts = {s: sum(1 for r in rows if r[2] == s) for s in ("PASS", "FAIL", "no check", "error")}
    total = sum(m.get("runtime_s") or 0.0 for m in metas.values() if m)
    overview = []
    for name, description, status, _ in rows:
        meta = metas[name] or {}
        checks = meta.get("checks") or []
        passed = sum(1 for c in checks if c.get("passed"))
        calibrated = ("yes" if meta.get("calibrated") else "no") if meta else "\u2212"
        runtime = meta.get("runtime_s")
        overview.append(
            f"<tr><td><a href='#{_e(name)}'>{_e(name)}</a></td><td><span class='badge "
            f"{STATUS_CLASS.get(status, 'none')}'>{_e(status)}</span></td>"
            f"<td class='num'>{passed} of {len(checks)}</td><td>{calibrated}</td>"
            f"<td class='num'>{'' if runtime is None else f'{runtime:.1f} s'}</td>"
            f"<td>{_e(_human(description))}</td></tr>")
    provenance = [("command", f"<code>{_e(command)}</code>"), ("generated (UTC)", _e(generated)),
                  ("total run time", f"{total:.0f} s"),
                  ("ionhomeo", _e(first.get("ionhomeo_version", "?"))),
                  ("NEURON", _e(first.get("neuron_version", "?"))),
                  ("Python", _e(first.get("python_version", "?"))),
                  ("platform", _e(first.get("platform", "?"))),
                  ("mechanisms (mod source hash)", _e(first.get("mod_source_hash") or "?"))]
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    body = [
        "<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<title>ionhomeo: results of run all</title>", f"<style>{_STYLE}</style>",
        f"<script>{_SCRIPT}</script>", "</head><body>",
        "<h1>ionhomeo: every protocol's results</h1>",
        f"<p>{len(rows)} protocol{'' if len(rows) == 1 else 's'}: {_e(summary)}. "
        "<span id='figures-status' data-loaded='0' data-expected='?'>(figures loading)</span>"
        "</p>",
        "<table class='provenance'>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>"
                                               for k, v in provenance) + "</table>",
        "<table class='overview'><tr><th>protocol</th><th>result</th><th>checks passed</th>"
        "<th>calibrated recipe</th><th>run time</th><th>what it does</th></tr>"
        + "".join(overview) + "</table>"]
    body += [_section(out, name, description, status, text, metas[name])
             for name, description, status, text in rows]
    body.append("</body></html>")
    return "\n".join(body) + "\n"


def write_index(out, rows, command: str) -> Path:
    """Write :func:`page` to ``out/index.html`` (atomically); returns its path."""
    from .results import write_text

    return write_text(page(out, rows, command), Path(out) / "index.html")
