"""User text shown as text: one helper for every Markdown widget, one for HTML.

Streamlit reads Markdown in ``st.markdown``, ``st.caption``, ``st.write`` of a string,
titles, alerts, toasts, expander and widget labels and ``help``: a case id, a reviewer's
name, a note or a draft shown there would otherwise become a live link (``[x](http://…)``),
a coloured span (``:red[…]``), an icon (``:material/…:``), maths (``$…$``) or a heading.
``md`` backslash-escapes every ASCII punctuation character (CommonMark allows that for
each of them), which also stops Streamlit's directives, shortcodes and maths, and folds
line breaks, so a value stays one line of plain text. ``html`` does the same for text
placed inside HTML that Streamlit's Markdown renders (the highlighted draft): entities for
the characters HTML and Markdown would read.
"""

from __future__ import annotations

import html as html_lib
import re
import string

_MARKDOWN_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
# Characters Streamlit's Markdown pipeline acts on even inside raw HTML (``:material/`` is
# rewritten before parsing; ``$`` starts maths), written as numeric entities.
_HTML_EXTRA = {
    ":": "&#58;",
    "$": "&#36;",
    "[": "&#91;",
    "]": "&#93;",
    "\\": "&#92;",
    "`": "&#96;",
    "*": "&#42;",
}
_HTML_EXTRA_RE = re.compile("[" + re.escape("".join(_HTML_EXTRA)) + "]")


def md(value: object) -> str:
    """``value`` as Markdown that shows exactly its text, on one line."""
    text = " ".join(str(value).split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def html(value: object) -> str:
    """``value`` escaped for HTML that Streamlit renders through its Markdown pipeline."""
    escaped = html_lib.escape(str(value), quote=True)
    return _HTML_EXTRA_RE.sub(lambda m: _HTML_EXTRA[m.group(0)], escaped)
