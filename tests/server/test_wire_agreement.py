"""The server -> page messages of mug/server/wire.py and the JSDoc typedefs of mug/client/static/wire.js agree."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from mug.server import wire

WIRE_JS = Path(wire.__file__).parents[1] / "client" / "static" / "wire.js"


def typedefs(source: str) -> dict[str, set[str]]:
    """Top-level field names of each `@typedef {{...}} Name` in a JSDoc comment."""
    text = re.sub(r"\n\s*\*", " ", source)  # join continued comment lines
    found: dict[str, set[str]] = {}
    for match in re.finditer(r"@typedef \{\{", text):
        depth, i = 2, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        body, name = text[match.end() : i - 2], re.match(r"\s*(\w+)", text[i:])
        assert name is not None
        fields, level, start = set(), 0, 0
        for j, ch in enumerate(body + ","):
            level += {"{": 1, "(": 1, "<": 1, "}": -1, ")": -1, ">": -1}.get(ch, 0)
            if ch == "," and level == 0:
                fields.add(body[start:j].split(":")[0].strip().rstrip("?"))
                start = j + 1
        found[name.group(1)] = fields
    return found


MODELS = typing.get_args(wire.ServerMessage)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_server_message_has_a_matching_typedef(model: type[wire.ServerMessage]) -> None:
    js = typedefs(WIRE_JS.read_text())
    assert model.__name__ in js, f"wire.js has no @typedef for {model.__name__} ({model.event})"
    python_fields = {f.alias or name for name, f in model.model_fields.items()}
    assert js[model.__name__] == python_fields
    assert f"`{model.event}`" in WIRE_JS.read_text()


def test_the_parser_reads_nested_types() -> None:
    js = "/** @typedef {{a: {b: number, c: string}, d: Object<string, any>, e?: number}} X */"
    assert typedefs(js) == {"X": {"a", "d", "e"}}
