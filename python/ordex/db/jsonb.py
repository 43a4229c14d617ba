"""JSON in and out of jsonb columns, and the SET clause of partial updates.

The pool registers no codecs, so jsonb travels as text: values are encoded here on the way in
(`$n::jsonb`) and decoded from the returned text on the way out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson


def encode(value: Any) -> str:
    return orjson.dumps(value).decode()


def decode(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def set_clause(
    changes: Mapping[str, Any], columns: Mapping[str, str], first_param: int
) -> tuple[str, list[Any]]:
    """`col = $n, ...` for the changed fields, columns named by the caller's whitelist only.

    `columns` maps a field to its column; a column spelled `name::jsonb` gets its value JSON-encoded.
    """
    parts: list[str] = []
    args: list[Any] = []
    for field, value in changes.items():
        column = columns[field]
        index = first_param + len(args)
        if column.endswith("::jsonb"):
            name = column.removesuffix("::jsonb")
            parts.append(f"{name} = ${index}::jsonb")
            args.append(None if value is None else encode(value))
        else:
            parts.append(f"{column} = ${index}")
            args.append(value)
    parts.append("updated_at = now()")
    return ", ".join(parts), args
