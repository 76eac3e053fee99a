"""User text inside elements Streamlit renders as markdown (labels, messages), shown as typed.

`st.text`, `st.code` and table cells show text verbatim; `st.error`, `st.success` and
widget labels render markdown. Streamlit never renders HTML there (no
`unsafe_allow_html` anywhere in the dashboard), but `**bold**`, `[links](…)` or `$math$`
would still be formatted, so user text that ends up in such an element is escaped first.
"""

from __future__ import annotations

import re

# Characters that start markdown (or Streamlit's math and colour directives) inside a line.
_MARKUP = re.compile(r"([\\`*_\[\]<>$~|#])")


def md(text: object) -> str:
    """`text` with every markdown character backslash-escaped, so it renders literally."""
    return _MARKUP.sub(r"\\\1", str(text)).replace("\n", " ")
