"""The pieces of a self-contained HTML page: every text escaped, images inline as data URIs,
inline CSS, no scripts and no references outside the file.
"""

from __future__ import annotations

import base64
import html
import numbers

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0;
       color: #1d2327; background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { margin-bottom: 4px; }
.meta { color: #646970; margin-top: 0; }
section { background: #fff; border: 1px solid #dcdcde; border-radius: 6px; padding: 8px 20px 16px;
          margin: 18px 0; }
h2 { font-size: 1.2em; border-bottom: 1px solid #eee; padding-bottom: 6px; }
pre { background: #f6f7f7; padding: 12px; overflow-x: auto; font-size: 12px; line-height: 1.35; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 8px 0; }
th, td { border: 1px solid #dcdcde; padding: 4px 12px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { background: #f0f0f1; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0; }
"""


def text(value) -> str:
    """Any value as escaped HTML text; floats with 4 significant digits."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, numbers.Integral)):
        return html.escape(f"{float(value):.4g}")
    return html.escape(str(value))


def table(header: list, rows: list[list]) -> str:
    head = "".join(f"<th>{text(cell)}</th>" for cell in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{text(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{encoded}" alt="{text(alt)}">'


def preformatted(content: str) -> str:
    return f"<pre>{text(content)}</pre>"


def paragraph(content: str) -> str:
    return f"<p>{text(content)}</p>"


def section(anchor: str, heading: str, *parts: str) -> str:
    """A titled block; `parts` are HTML already built by the functions above."""
    return f'<section id="{text(anchor)}"><h2>{text(heading)}</h2>{"".join(parts)}</section>'


def page(title: str, subtitle: str, sections: list[str]) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f'<h1>{text(title)}</h1>\n<p class="meta">{text(subtitle)}</p>\n'
        + "\n".join(sections)
        + "\n</main>\n</body>\n</html>\n"
    )
