"""JSON Schema touches for request models whose validators say more than their types.

A partial update declares `field: T | None = None` so a field may be left out, while a null sent
for it is refused: the document must then say "optional, never null" (no `null` branch), and
"at least one field" when an empty update is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

JsonSchemaExtra = Callable[[dict[str, Any], type], None]


def drop_null(prop: dict[str, Any]) -> None:
    """Remove the `null` branch of an `anyOf` in place (a lone remaining branch is inlined)."""
    branches = prop.get("anyOf")
    if not isinstance(branches, list):
        return
    kept = [branch for branch in branches if branch != {"type": "null"}]
    if len(kept) == 1:
        del prop["anyOf"]
        prop.update(kept[0])
    else:
        prop["anyOf"] = kept
    if prop.get("default", 0) is None:
        del prop["default"]


def not_null(
    *, nullable: Iterable[str] = (), at_least_one: bool = False, only: Iterable[str] | None = None
) -> JsonSchemaExtra:
    """A `json_schema_extra` refusing null for every property (or those in `only`) but `nullable`;
    a model's own `NULLABLE` class attribute adds to `nullable`."""
    allowed = frozenset(nullable)
    chosen = None if only is None else frozenset(only)

    def extra(schema: dict[str, Any], model: type) -> None:
        keep = allowed | frozenset(getattr(model, "NULLABLE", ()))
        for name, prop in schema.get("properties", {}).items():
            if name not in keep and (chosen is None or name in chosen):
                drop_null(prop)
        if at_least_one:
            schema["minProperties"] = 1

    return extra
