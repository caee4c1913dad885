"""The drift report: one self-contained HTML file (tables + matplotlib plots embedded as base64 PNG).

Self-contained so it can be mailed, attached to a ticket or archived with the audit logs without
a web server or any file beside it.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from bento_services.drift_stats import ColumnDrift, numeric_bin_edges


def _figure_png(fig: object) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_column(drift: ColumnDrift, reference: pd.Series, current: pd.Series, bins: int) -> str:
    """Reference vs current distribution of one column, as a base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: renders in servers, CI and headless shells
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.0, 2.8))
    reference, current = reference.dropna(), current.dropna()
    if drift.kind == "categorical":
        ref = reference.astype(str).value_counts(normalize=True)
        cur = current.astype(str).value_counts(normalize=True)
        categories = sorted(set(ref.index) | set(cur.index))
        x = np.arange(len(categories))
        ax.bar(x - 0.2, ref.reindex(categories, fill_value=0), width=0.4, label="reference")
        ax.bar(x + 0.2, cur.reindex(categories, fill_value=0), width=0.4, label="current")
        ax.set_xticks(x, categories, rotation=30, ha="right", fontsize=7)
        ax.set_ylabel("share")
    else:
        ref = reference.to_numpy(dtype=float)
        cur = current.to_numpy(dtype=float)
        both = np.concatenate([ref, cur])
        low, median, high = np.nanpercentile(both, [0.5, 50, 99.5])
        heavy_tailed = low > 0 and high > 20 * median  # amounts in AED: a linear axis shows one bar
        if heavy_tailed:
            edges = np.geomspace(low, high, 40)
            ax.set_xscale("log")
        else:
            edges = np.linspace(low, high if high > low else low + 1.0, 40)
        ax.hist(ref, bins=edges, density=True, alpha=0.55, label="reference")
        ax.hist(cur, bins=edges, density=True, alpha=0.55, label="current")
        for edge in numeric_bin_edges(ref, bins):
            ax.axvline(edge, color="grey", linewidth=0.4, alpha=0.5)
        ax.set_ylabel("density")
    status = "DRIFT" if drift.drifted else "skew, not gating" if drift.crossed else "stable"
    ax.set_title(f"{drift.name}: PSI {drift.psi:.3f} ({status})", fontsize=9,
                 color="#b00020" if drift.drifted else "#8a6d00" if drift.crossed else "black")
    ax.legend(fontsize=7)
    return _figure_png(fig)


def render_html(
    *,
    title: str,
    summary: Sequence[tuple[str, str]],
    columns: Sequence[ColumnDrift],
    plots: dict[str, str],
) -> str:
    """The report page: a summary table, one row per column with its verdict, then the plots."""
    esc = html.escape
    rows = []
    for c in columns:
        ks_stat = "n/a" if c.ks_statistic is None else f"{c.ks_statistic:.3f}"
        ks_p = "n/a" if c.ks_pvalue is None else f"{c.ks_pvalue:.2g}"
        verdict = ("<b class=drift>DRIFT</b>" if c.drifted else "skew (not gating)" if c.crossed else "stable")
        rows.append(
            f"<tr><td>{esc(c.name)}</td><td>{c.kind}</td><td>{c.psi:.4f}</td><td>{ks_stat}</td><td>{ks_p}</td>"
            f"<td>{verdict}</td><td>{esc('; '.join(c.reasons))}</td></tr>"
        )
    images = "".join(
        f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{png}"></figure>' for name, png in plots.items()
    )
    facts = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in summary)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin-bottom: 1.5em; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; font-size: 13px; }}
.drift {{ color: #b00020; }}
figure {{ display: inline-block; margin: 6px; }}
</style></head><body>
<h1>{esc(title)}</h1>
<table>{facts}</table>
<h2>Columns</h2>
<table><tr><th>column</th><th>kind</th><th>PSI</th><th>KS statistic</th><th>KS p-value</th><th>verdict</th>
<th>why</th></tr>{''.join(rows)}</table>
<h2>Distributions (reference vs current)</h2>
{images}
</body></html>
"""


def write_report(path: Path, page: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
