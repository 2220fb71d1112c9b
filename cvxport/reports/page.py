"""Building blocks of the report pages: the style sheet, escaping, tables, figures, pages."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd

CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1d2430;
       max-width: 1120px; margin: 24px auto; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.1em; } h2 { font-size: 1.2em; margin-top: 1.8em;
     border-bottom: 1px solid #d0d5dd; padding-bottom: 4px; }
.sub { color: #5b6472; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.88em; margin: 8px 0; }
th, td { padding: 3px 9px; border-bottom: 1px solid #e4e7ec; text-align: right; }
th:first-child, td:first-child { text-align: left; } th { background: #f3f5f8; }
td.text, th.text { text-align: left; color: #5b6472; }
img { max-width: 100%; height: auto; display: block; margin: 6px 0; }
.grid { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.monthly td { min-width: 3.2em; } .note { color: #5b6472; font-size: 0.85em; }
.alert { color: #b42318; font-weight: 600; }
"""


def escape(value: object) -> str:
    return html.escape(str(value))


def html_table(frame: pd.DataFrame, formats: Mapping[str, object], css: str = "") -> str:
    head = "".join(
        f"<th{' class=text' if c == 'description' else ''}>{escape(c)}</th>"
        for c in [frame.index.name or "", *frame.columns]
    )
    rows = []
    # itertuples keeps each column's type (iterrows would turn integer counts into floats)
    for label, values in zip(frame.index, frame.itertuples(index=False), strict=True):
        cells = [f"<td>{escape(label)}</td>"]
        for column, value in zip(frame.columns, values, strict=True):
            fmt = formats.get(column, escape)
            text = fmt(value) if callable(fmt) else fmt.format(value)
            cls = " class='text'" if column in ("description",) else ""
            cells.append(f"<td{cls}>{text}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table class='{css}'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def figure_section(heading: str, uri: str, alt: str | None = None) -> str:
    return f"<h2>{escape(heading)}</h2><img src='{uri}' alt='{escape(alt or heading)}'>"


def kv_table(heading: str, rows: Mapping[str, str]) -> str:
    body = "".join(
        f"<tr><td>{escape(k)}</td><td class='text'>{escape(v)}</td></tr>" for k, v in rows.items()
    )
    return f"<table><thead><tr><th colspan='2'>{escape(heading)}</th></tr></thead>{body}</table>"


def page(title: str, sections: list[str]) -> str:
    """A complete HTML document: inline style, no script, nothing loaded from elsewhere."""
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
