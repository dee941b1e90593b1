"""CSV cells a spreadsheet would run as formulas are written as text instead.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
to Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a reviewer's note would be
a live link, ``=cmd|...`` worse). Such cells get a leading apostrophe, which those programs
read as "this is text" and do not show. Only text columns change; numbers stay numbers.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[" + re.escape("".join(FORMULA_STARTS)) + "]"


def neutralize(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that starts like a formula prefixed with an apostrophe."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            risky = pc.fill_null(pc.match_substring_regex(column, _FORMULA_START), False)
            quote, nothing = pa.scalar("'", field.type), pa.scalar("", field.type)
            column = pc.if_else(risky, pc.binary_join_element_wise(quote, column, nothing), column)
        columns.append(column)
    return pa.table(columns, schema=table.schema)
