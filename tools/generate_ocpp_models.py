"""Generate the OCPP 2.0.1 wire models in ``messages/ocpp201/`` from the ``ocpp`` package's schemas.

Usage::

    python -m tools.generate_ocpp_models            # rewrite messages/ocpp201/*.py
    python -m tools.generate_ocpp_models --out DIR  # write them somewhere else (the test does)

Theory of operation
-------------------
The 128 JSON schemas (``<Action>Request.json`` / ``<Action>Response.json``, draft 6) shipped in
``ocpp/v201/schemas/`` each repeat the ``definitions`` they use. This script reads them all,
merges the definitions by name and writes four modules:

* ``enums.py``: every ``...EnumType`` as a ``StrEnum`` (snake_case members, exact wire values);
* ``datatypes.py``: every object definition (``...Type``) as a frozen model, dependencies first;
* ``calls.py``: ``<Action>Request`` models and ``REQUESTS`` (action name -> model);
* ``results.py``: ``<Action>Response`` models and ``RESPONSES``.

Merging: two definitions with the same name must be equal except for their ``description``
(the 2.0.1 schemas differ only there, e.g. the ``AttributeEnumType`` text). Anything else stops
the generator with an error naming both files. The description kept is the one of the first
file in sorted order, so the output is deterministic.

Names: the wire name of each field is copied into ``Field(alias=...)`` verbatim; the Python name
is a snake_case rendering used only in Python code, checked for collisions (the generator stops
on one). Class names are the schema's own definition names.

Types: ``string`` -> ``StrictStr`` (``max_length`` kept), ``date-time`` -> ``DateTime`` (a
``str``, see ``messages/ocpp201/base.py``), ``integer`` -> ``Integer``, ``number`` -> ``Number``,
``boolean`` -> ``StrictBool``, arrays -> tuples (frozen all the way down) with min/max items,
no type at all (DataTransfer ``data``) -> ``Any``. Required fields have no default, optional
ones default to None. A schema ``default`` (e.g. ``"Actual"``) is documentation only: the model
does not fill it in, so that what was absent on the wire stays absent.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import importlib.resources
import json
import keyword
import re
import sys
from pathlib import Path

from pydantic import BaseModel

OUT_DIR = Path(__file__).resolve().parent.parent / "messages" / "ocpp201"
GENERATED = ("enums.py", "datatypes.py", "calls.py", "results.py")
# Fields typed Any in these (only DataTransfer) take the base that keeps explicit nulls.
_KEEPS_NULLS = {"CustomDataType"}


class SchemaConflict(Exception):
    """Two schemas define the same name differently."""


def load_schemas(schema_dir=None) -> dict[str, dict]:
    """Return ``{file stem: schema}`` for every schema, sorted by file name."""
    schema_dir = schema_dir or importlib.resources.files("ocpp.v201").joinpath("schemas")
    entries = sorted((e for e in schema_dir.iterdir() if e.name.endswith(".json")),
                     key=lambda e: e.name)
    return {e.name[:-len(".json")]: json.loads(e.read_text(encoding="utf-8")) for e in entries}


def _without_descriptions(node):
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


def merge_definitions(schemas: dict[str, dict]) -> dict[str, dict]:
    """Dedupe the definitions by name; raise :class:`SchemaConflict` if two differ."""
    merged: dict[str, tuple[str, dict]] = {}
    for stem, schema in schemas.items():
        for name, definition in schema.get("definitions", {}).items():
            if name not in merged:
                merged[name] = (stem, definition)
            elif _without_descriptions(merged[name][1]) != _without_descriptions(definition):
                raise SchemaConflict(f"{name} differs between {merged[name][0]}.json and "
                                     f"{stem}.json")
    return {name: definition for name, (_, definition) in sorted(merged.items())}


# Spec words that read as one word in snake_case (``fullSoC`` -> ``full_soc``, not ``full_so_c``).
_WORDS = {"SoC": "Soc", "V2G": "V2g"}


def snake(name: str) -> str:
    """``evseId`` -> ``evse_id``, ``responderURL`` -> ``responder_url``, ``SoC`` -> ``soc``,
    ``Energy.Active.Import.Register`` -> ``energy_active_import_register``."""
    for word, as_one in _WORDS.items():
        name = name.replace(word, as_one)
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    name = re.sub(r"_+", "_", name).strip("_").lower()
    if not name or name[0].isdigit():
        name = "v_" + name
    return name


def _python_name(wire: str, taken: set[str], where: str, reserved) -> str:
    py = snake(wire)
    if keyword.iskeyword(py) or py in reserved:
        py += "_"
    if py in taken:
        raise SchemaConflict(f"{where}: {wire!r} gives the Python name {py!r} twice")
    taken.add(py)
    return py


def _doc(text: str | None, indent: str) -> list[str]:
    if not text:
        return []
    words = " ".join(text.replace('"""', "'''").replace("\\", "\\\\").split())
    lines, line = [], ""
    for word in words.split(" "):
        if line and len(indent) + len(line) + len(word) + 1 > 96:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    return [f'{indent}"""{lines[0]}'] + [f"{indent}{ln}" for ln in lines[1:]] + [f'{indent}"""']


# -- enums -----------------------------------------------------------------------------------

def render_enums(defs: dict[str, dict]) -> str:
    out = ["from enum import StrEnum", ""]
    for name, definition in defs.items():
        if "enum" not in definition:
            continue
        out += ["", f"class {name}(StrEnum):"] + _doc(definition.get("description"), "    ")
        taken: set[str] = set()
        reserved = set(dir(str))
        for value in definition["enum"]:
            member = _python_name(value, taken, name, reserved)
            out.append(f"    {member} = {value!r}")
        out.append("")
    out.append("")
    out.append("__all__ = [")
    out += [f"    {n!r}," for n, d in defs.items() if "enum" in d]
    out.append("]")
    return "\n".join(out) + "\n"


# -- models ----------------------------------------------------------------------------------

def _field_type(prop: dict, where: str) -> tuple[str, list[str], bool]:
    """Return (annotation, Field keyword arguments, is_any) of one property."""
    kwargs: list[str] = []
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1], kwargs, False
    kind = prop.get("type")
    if kind is None:
        return "Any", kwargs, True
    if kind == "array":
        item, item_kwargs, _ = _field_type(prop["items"], where)
        if item_kwargs:   # constraints of the items go on the item type
            item = f"Annotated[{item}, Field({', '.join(item_kwargs)})]"
        if "minItems" in prop:
            kwargs.append(f"min_length={prop['minItems']}")
        if "maxItems" in prop:
            kwargs.append(f"max_length={prop['maxItems']}")
        return f"tuple[{item}, ...]", kwargs, False
    if kind == "string":
        if "maxLength" in prop:
            kwargs.append(f"max_length={prop['maxLength']}")
        return ("DateTime" if prop.get("format") == "date-time" else "StrictStr"), kwargs, False
    if kind in ("integer", "number"):
        if "minimum" in prop:
            kwargs.append(f"ge={prop['minimum']}")
        if "maximum" in prop:
            kwargs.append(f"le={prop['maximum']}")
        return ("Integer" if kind == "integer" else "Number"), kwargs, False
    if kind == "boolean":
        return "StrictBool", kwargs, False
    raise SchemaConflict(f"{where}: unsupported property schema {prop}")


_HANDLED = {"type", "properties", "required", "additionalProperties", "description", "javaType",
            "$schema", "comment", "definitions", "$id", "id"}
_HANDLED_PROP = {"$ref", "type", "items", "additionalItems", "minItems", "maxItems", "maxLength",
                 "format", "minimum", "maximum", "description", "javaType", "default"}


def _refs(definition: dict) -> list[str]:
    found = []
    for prop in definition.get("properties", {}).values():
        ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
        if ref:
            found.append(ref.rsplit("/", 1)[-1])
    return found


def render_model(name: str, definition: dict) -> list[str]:
    unknown = set(definition) - _HANDLED
    if unknown or definition.get("type") != "object":
        raise SchemaConflict(f"{name}: keywords the generator does not handle: {unknown}")
    extra = definition.get("additionalProperties", True)
    props = definition.get("properties", {})
    required = set(definition.get("required", ()))
    fields, any_fields = [], []
    taken: set[str] = set()
    reserved = set(dir(BaseModel))
    for wire, prop in props.items():
        unknown = set(prop) - _HANDLED_PROP
        if unknown:
            raise SchemaConflict(f"{name}.{wire}: keywords the generator does not handle: "
                                 f"{unknown}")
        py = _python_name(wire, taken, name, reserved)
        annotation, kwargs, is_any = _field_type(prop, f"{name}.{wire}")
        if is_any:
            any_fields.append((py, wire))
        args = [f"alias={wire!r}"] + kwargs
        if wire not in required:
            args.insert(0, "default=None")
            if not is_any:
                annotation += " | None"
        fields.append(f"    {py}: {annotation} = Field({', '.join(args)})")
    keeps_nulls = bool(any_fields) or extra is not False
    if keeps_nulls and extra is not False and name not in _KEEPS_NULLS:
        raise SchemaConflict(f"{name}: allows extra keys; add it to _KEEPS_NULLS if intended")
    base = "KeepsNulls" if keeps_nulls else "OcppModel"
    out = ["", "", f"class {name}({base}):"] + _doc(definition.get("description"), "    ")
    if extra is not False:
        out.append('    model_config = ConfigDict(extra="allow")')
    if any_fields:
        out.append(f"    _any_fields: ClassVar[tuple[tuple[str, str], ...]] = "
                   f"{tuple(any_fields)!r}")
    if not fields and not out[-1].startswith("    "):
        out.append("    pass")
    out += fields
    return out


def _ordered(defs: dict[str, dict]) -> list[str]:
    """Object definitions, each after the ones it refers to (ties by name)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in stack:
            raise SchemaConflict(f"recursive definitions: {' -> '.join(stack + (name,))}")
        for ref in sorted(set(_refs(defs[name]))):
            if "enum" not in defs[ref]:
                visit(ref, stack + (name,))
        seen.add(name)
        order.append(name)

    for name, definition in defs.items():
        if "enum" not in definition:
            visit(name, ())
    return order


_MODEL_IMPORTS = [
    "from typing import Annotated, Any, ClassVar",
    "",
    "from pydantic import ConfigDict, Field, StrictBool, StrictStr",
    "",
    "from messages.ocpp201.base import DateTime, Integer, KeepsNulls, Number, OcppModel",
]


def render_datatypes(defs: dict[str, dict]) -> str:
    order = _ordered(defs)
    out = list(_MODEL_IMPORTS) + ["from messages.ocpp201.enums import *  # noqa: F401,F403"]
    for name in order:
        out += render_model(name, defs[name])
    out += ["", "", "__all__ = ["] + [f"    {n!r}," for n in order] + ["]"]
    return "\n".join(out) + "\n"


def render_messages(schemas: dict[str, dict], suffix: str, table: str) -> str:
    out = list(_MODEL_IMPORTS) + [
        "from messages.ocpp201.enums import *  # noqa: F401,F403",
        "from messages.ocpp201.datatypes import *  # noqa: F401,F403",
    ]
    actions = []
    for stem, schema in schemas.items():
        if not stem.endswith(suffix):
            continue
        actions.append(stem[:-len(suffix)])
        out += render_model(stem, schema)
    out += ["", "", f"#: Action name (the CALL's action field) -> {suffix.lower()} model.",
            f"{table}: dict[str, type[OcppModel]] = {{"]
    out += [f"    {a!r}: {a}{suffix}," for a in actions] + ["}", ""]
    out += ["__all__ = [", f"    {table!r},"] + [f"    '{a}{suffix}'," for a in actions] + ["]"]
    return "\n".join(out) + "\n"


def header(version: str) -> str:
    return (f'"""Generated by tools/generate_ocpp_models.py from the OCPP 2.0.1 JSON schemas of '
            f'the\nocpp package {version}. Do not edit: change the generator and re-run\n'
            f'``python -m tools.generate_ocpp_models``.\n"""\n'
            "# flake8: noqa\n")


def generate(schemas: dict[str, dict] | None = None, version: str | None = None) -> dict[str, str]:
    """Return ``{file name: source}`` of every generated module."""
    schemas = schemas if schemas is not None else load_schemas()
    version = version or importlib.metadata.version("ocpp")
    defs = merge_definitions(schemas)
    bodies = {
        "enums.py": render_enums(defs),
        "datatypes.py": render_datatypes(defs),
        "calls.py": render_messages(schemas, "Request", "REQUESTS"),
        "results.py": render_messages(schemas, "Response", "RESPONSES"),
    }
    return {name: header(version) + body for name, body in bodies.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder to write into")
    args = parser.parse_args(argv)
    try:
        files = generate()
    except SchemaConflict as error:
        print(f"generate_ocpp_models: {error}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {', '.join(files)} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
