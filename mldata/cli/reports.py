"""Rendering profiles and drift results: rich tables, Markdown, and self-contained HTML (inline
SVG charts, no scripts, no network)."""

from __future__ import annotations

import html
from typing import Any

_SEVERITY_ORDER = {"fail": 0, "warn": 1, "insufficient_data": 2, "ok": 3, "not_applicable": 4}


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# ------------------------------------------------------------------------------------------------
# profile
# ------------------------------------------------------------------------------------------------

NUMERIC_FIELDS = ("n", "missing_fraction", "n_distinct", "mean", "std", "min", "max", "n_zeros")
QUANTILES = ("p01", "p05", "p25", "p50", "p75", "p95", "p99")


def profile_rows(profile: dict[str, Any]) -> dict[str, list[list[str]]]:
    """Table rows per column kind: numeric, categorical (and boolean), other."""
    numeric, categorical, other = [], [], []
    for name, col in profile["columns"].items():
        kind = col["type"]
        if kind == "numeric":
            q = col.get("quantiles") or {}
            numeric.append([name, col.get("arrow_type", ""), *[_fmt(col.get(f)) for f in NUMERIC_FIELDS],
                            *[_fmt(q.get(p)) for p in ("p05", "p50", "p95")]])
        elif kind in ("categorical", "boolean"):
            top = ", ".join(f"{k} ({c})" for k, c in (col.get("top_k") or [])[:5])
            distinct = _fmt(col.get("n_distinct")) + ("~" if col.get("n_distinct_approx") else "")
            categorical.append([name, col.get("arrow_type", ""), _fmt(col.get("n")), _fmt(col.get("missing_fraction")),
                                distinct, top])
        else:
            other.append([name, col.get("arrow_type", kind), _fmt(col.get("n")), _fmt(col.get("missing_fraction")),
                          _fmt(col.get("min")), _fmt(col.get("max"))])
    return {"numeric": numeric, "categorical": categorical, "other": other}


HEADERS = {
    "numeric": ["column", "type", *NUMERIC_FIELDS, "p05", "p50", "p95"],
    "categorical": ["column", "type", "n", "missing_fraction", "n_distinct", "top values"],
    "other": ["column", "type", "n", "missing_fraction", "min", "max"],
}


def _title(profile: dict[str, Any]) -> str:
    title = f"{profile.get('source', '')}: {profile['n_rows']} rows, {len(profile['columns'])} columns"
    if profile.get("sampled"):
        title += f" (SAMPLED: about {profile['sampled']:.0%} of rows)"
    return title


def print_profile(profile: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{_title(profile)}")
    for kind, rows in profile_rows(profile).items():
        if not rows:
            continue
        table = Table(title=kind, title_justify="left")
        for i, h in enumerate(HEADERS[kind]):
            table.add_column(h, justify="left" if i < 2 or h == "top values" else "right")
        for row in rows:
            table.add_row(*row)
        console.print(table)


def profile_markdown(profile: dict[str, Any]) -> str:
    lines = [f"# Profile of {_title(profile)}", ""]
    for kind, rows in profile_rows(profile).items():
        if not rows:
            continue
        head = HEADERS[kind]
        lines += [f"## {kind}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        lines.append("")
    return "\n".join(lines)


def _svg_bars(counts: list[float], *, width: int = 240, height: int = 60, overlay: list[float] | None = None,
              labels: tuple[str, str] = ("", "")) -> str:
    """A bar chart as inline SVG; ``overlay`` draws a second series (current vs baseline)."""
    series = [counts] + ([overlay] if overlay is not None else [])
    top = max((max(s) for s in series if s), default=0) or 1
    n = max(len(s) for s in series) or 1
    bar = width / n
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for k, s in enumerate(series):
        fill = "#4c78a8" if k == 0 else "#f58518"
        opacity = "0.85" if k == 0 else "0.55"
        for i, c in enumerate(s):
            h = height * c / top
            out.append(f'<rect x="{i * bar:.2f}" y="{height - h:.2f}" width="{max(bar - 1, 0.5):.2f}" '
                       f'height="{h:.2f}" fill="{fill}" fill-opacity="{opacity}"><title>{html.escape(str(c))}</title></rect>')
    out.append("</svg>")
    return "".join(out)


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ddd;padding:4px 8px;font-size:13px;text-align:right}td:first-child,th:first-child{text-align:left}
.fail{background:#fdd}.warn{background:#ffe9b3}.legend span{display:inline-block;width:12px;height:12px;margin:0 4px}"""


def profile_html(profile: dict[str, Any]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(_title(profile))}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(_title(profile))}</h1>"]
    for kind, rows in profile_rows(profile).items():
        if not rows:
            continue
        parts.append(f"<h2>{kind}</h2><table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in HEADERS[kind])
                     + "<th>distribution</th></tr>")
        for row in rows:
            col = profile["columns"][row[0]]
            if kind == "numeric" and col.get("histogram"):
                chart = _svg_bars(col["histogram"]["counts"])
            elif col.get("top_k"):
                chart = _svg_bars([c for _, c in col["top_k"][:20]])
            else:
                chart = ""
            parts.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + f"<td>{chart}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------------
# drift
# ------------------------------------------------------------------------------------------------

DRIFT_HEADERS = ["column", "kind", "severity", "PSI", "KL", "JS", "test p", "missing Δ", "unseen", "notes"]


def drift_rows(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, r in results.items():
        d = r.to_dict()
        p = d.get("ks_pvalue") if d.get("ks_pvalue") is not None else d.get("chi2_pvalue")
        if p is None and d.get("ks_pvalue_bounds"):
            lo, hi = d["ks_pvalue_bounds"]
            p_text = f"[{_fmt(lo)}, {_fmt(hi)}]"
        else:
            p_text = _fmt(p)
        missing = (d.get("missing") or {}).get("delta")
        notes = list(d.get("notes") or []) + (["approximate"] if d.get("approximate") else [])
        rows.append([name, d["kind"], d["severity"], _fmt(d.get("psi")), _fmt(d.get("kl")), _fmt(d.get("js")),
                     p_text, _fmt(missing), _fmt(d.get("unseen_fraction")), ", ".join(notes)])
    rows.sort(key=lambda r: (_SEVERITY_ORDER.get(r[2], 9), r[0]))
    return rows


def print_drift(title: str, results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, h in enumerate(DRIFT_HEADERS):
        table.add_column(h, justify="left" if i < 3 or h == "notes" else "right")
    for row in drift_rows(results):
        style = {"fail": "red", "warn": "yellow"}.get(row[2])
        table.add_row(*row, style=style)
    Console().print(table)


def drift_html(title: str, results: dict[str, Any]) -> str:
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
             "<p class='legend'><span style='background:#4c78a8'></span>baseline "
             "<span style='background:#f58518'></span>current (share per bin)</p><table><tr>"
             + "".join(f"<th>{h}</th>" for h in DRIFT_HEADERS) + "<th>bins</th></tr>"]
    for row in drift_rows(results):
        d = results[row[0]].to_dict()
        chart = ""
        if d.get("baseline_counts") and d.get("current_counts"):
            b, c = d["baseline_counts"], d["current_counts"]
            nb, nc = sum(b) or 1, sum(c) or 1
            chart = _svg_bars([x / nb for x in b], overlay=[x / nc for x in c])
        parts.append(f"<tr class='{row[2]}'>" + "".join(f"<td>{html.escape(x)}</td>" for x in row)
                     + f"<td>{chart}</td></tr>")
    parts.append("</table></body></html>")
    return "".join(parts)
