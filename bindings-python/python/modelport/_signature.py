"""A tool's JSON schema from a plain function's signature and docstring, and the call of that
function with the arguments the model sent (already checked against the schema by core).

Types: ``str``, ``int``, ``float``, ``bool``, ``None``, ``Any``, ``Literal[...]``, ``Enum``
subclasses, ``list`` / ``Sequence`` / ``set`` / ``tuple[T, ...]``, ``dict`` / ``Mapping`` with
string keys, ``Optional`` and ``Union`` (also ``X | Y``), ``Annotated[T, "description"]`` and
pydantic models (their ``model_json_schema()``). Anything else is a ``TypeError`` at definition
time that says what to use instead.
"""

from __future__ import annotations

import collections.abc
import enum
import inspect
import json
import re
import types
import typing
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

_UNION_TYPES: Tuple[Any, ...] = (typing.Union,) + (
    (types.UnionType,) if hasattr(types, "UnionType") else ()
)
_SEQUENCES = (list, set, frozenset, collections.abc.Sequence, collections.abc.Set)
_MAPPINGS = (dict, collections.abc.Mapping)
_SCALARS: Dict[Any, str] = {str: "string", bool: "boolean", int: "integer", float: "number"}

# Docstring sections: Google style ("Args:" then indented "name: text" / "name (type): text"), and
# Sphinx style (":param name: text").
_SECTION = re.compile(
    r"^\s*(Args|Arguments|Parameters|Params|Returns?|Yields?|Raises|Examples?|Notes?)\s*:\s*$"
)
_GOOGLE_PARAM = re.compile(r"^(\s+)(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX_PARAM = re.compile(r"^\s*:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_SPHINX_FIELD = re.compile(r"^\s*:\w+")


def _is_pydantic_model(tp: object) -> bool:
    return (
        isinstance(tp, type) and hasattr(tp, "model_json_schema") and hasattr(tp, "model_validate")
    )


def parse_docstring(doc: Optional[str]) -> Tuple[str, Dict[str, str]]:
    """The description (the text before the first section) and each parameter's description."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    text: List[str] = []
    params: Dict[str, str] = {}
    section: Optional[str] = None
    current: Optional[str] = None
    indent = 0
    for line in lines:
        header = _SECTION.match(line)
        sphinx = _SPHINX_PARAM.match(line)
        if header:
            section = header.group(1).lower()
            current = None
        elif sphinx:
            section, current = "sphinx", sphinx.group(1)
            params[current] = sphinx.group(2).strip()
        elif section == "sphinx" and current and line.startswith((" ", "\t")) and line.strip():
            params[current] += " " + line.strip()
        elif _SPHINX_FIELD.match(line):
            section, current = "sphinx", None
        elif section in ("args", "arguments", "parameters", "params"):
            match = _GOOGLE_PARAM.match(line)
            if match and (current is None or len(match.group(1)) <= indent):
                indent = len(match.group(1))
                current = match.group(2).lstrip("*")
                params[current] = match.group(3).strip()
            elif current and line.strip():
                params[current] += " " + line.strip()
        elif section is None:
            text.append(line)
    return "\n".join(text).strip(), {k: v for k, v in params.items() if v}


class _Schema:
    """Builds the schema of one function, collecting pydantic models' ``$defs``."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.defs: Dict[str, Any] = {}

    def unsupported(self, tp: object, why: str = "") -> TypeError:
        return TypeError(
            f"{self.where}: cannot describe {tp!r} as JSON schema{why}; use str, int, float, bool, "
            "Literal, an Enum, list, dict, Optional/Union, Annotated[T, \"description\"] or a "
            "pydantic model (or give parameters= a JSON schema)"
        )

    def of(self, tp: Any) -> Dict[str, Any]:
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if isinstance(tp, type) and tp in _SCALARS:
            return {"type": _SCALARS[tp]}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Annotated:
            schema = self.of(args[0])
            notes = [a for a in args[1:] if isinstance(a, str)]
            if notes:
                schema = {**schema, "description": " ".join(notes)}
            return schema
        if origin is typing.Literal:
            return _enum_schema(list(args))
        if origin in _UNION_TYPES:
            # Any absorbs the rest (Python < 3.11 reads `x: Any = None` as Optional[Any]).
            if Any in args or object in args:
                return {}
            return {"anyOf": [self.of(a) for a in args]}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_schema([m.value for m in tp])
        if _is_pydantic_model(tp):
            return self.model(tp)
        if tp in _SEQUENCES or origin in _SEQUENCES or tp is tuple or origin is tuple:
            return self.array(tp, origin, args)
        if tp in _MAPPINGS or origin in _MAPPINGS:
            if args and args[0] is not str:
                raise self.unsupported(tp, " (JSON object keys are strings)")
            return {"type": "object", **({"additionalProperties": self.of(args[1])} if args else {})}
        raise self.unsupported(tp)

    def array(self, tp: Any, origin: Any, args: Tuple[Any, ...]) -> Dict[str, Any]:
        schema: Dict[str, Any] = {"type": "array"}
        if tp is tuple or origin is tuple:
            if args and (len(args) != 2 or args[1] is not Ellipsis):
                raise self.unsupported(tp, " (only tuple[T, ...])")
        if args:
            schema["items"] = self.of(args[0])
        if tp in (set, frozenset) or origin in (set, frozenset, collections.abc.Set):
            schema["uniqueItems"] = True
        return schema

    def model(self, tp: Any) -> Dict[str, Any]:
        name = tp.__name__
        if name not in self.defs:
            schema = dict(tp.model_json_schema(ref_template="#/$defs/{model}"))
            self.defs.update(schema.pop("$defs", {}))
            self.defs[name] = schema
        return {"$ref": f"#/$defs/{name}"}


def _enum_schema(values: List[Any]) -> Dict[str, Any]:
    schema: Dict[str, Any] = {"enum": values}
    kinds = {_SCALARS.get(type(v), "") for v in values}
    if len(kinds) == 1 and "" not in kinds:
        schema = {"type": kinds.pop(), **schema}
    return schema


def _json_default(value: object) -> Tuple[bool, Any]:
    """A default value as JSON, when it has one."""
    if isinstance(value, enum.Enum):
        value = value.value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False, None
    return True, value


class FunctionTool:
    """How to call a plain function with the model's arguments."""

    def __init__(self, fn: Callable[..., Any], tool_name: str, invocation_type: type) -> None:
        where = f"define_tool({tool_name!r})"
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception as e:  # a name the function's module cannot resolve (a local class)
            raise TypeError(f"{where}: cannot read the type hints of {fn!r}: {e}") from e
        description, docs = parse_docstring(inspect.getdoc(fn))
        self.description = description
        builder = _Schema(where)
        properties: Dict[str, Any] = {}
        required: List[str] = []
        # (name, type, passed positionally, default) per parameter the model fills.
        self.params: List[Tuple[str, Any, bool, Any]] = []
        self.invocation: Optional[str] = None
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{where}: *{p.name} / **{p.name} cannot be described to the model")
            tp = hints.get(p.name, inspect.Parameter.empty)
            if tp is invocation_type or (
                typing.get_origin(tp) in _UNION_TYPES
                and set(typing.get_args(tp)) == {invocation_type, type(None)}
            ):
                if p.kind == p.POSITIONAL_ONLY:
                    raise TypeError(f"{where}: the {p.name!r} parameter cannot be positional-only")
                self.invocation = p.name
                continue
            if tp is inspect.Parameter.empty:
                raise TypeError(f"{where}: annotate parameter {p.name!r} with its type")
            builder.where = f"{where}, parameter {p.name!r}"
            schema = builder.of(tp)
            if p.name in docs and "description" not in schema:
                schema["description"] = docs[p.name]
            if p.default is p.empty:
                required.append(p.name)
            else:
                has_default, default = _json_default(p.default)
                if has_default:
                    schema["default"] = default
            properties[p.name] = schema
            self.params.append((p.name, tp, p.kind == p.POSITIONAL_ONLY, p.default))
        self.schema: Dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            self.schema["required"] = required
        self.schema["additionalProperties"] = False
        if builder.defs:
            self.schema["$defs"] = builder.defs

    def bind(
        self, arguments: Mapping[str, Any], invocation: object
    ) -> Tuple[List[Any], Dict[str, Any]]:
        """The positional and keyword arguments for the function. Raises ValueError (or pydantic's
        ValidationError) for a value the schema let through but the type refuses."""
        positional: List[Any] = []
        keywords: Dict[str, Any] = {}
        for name, tp, by_position, default in self.params:
            if name in arguments:
                value = _convert(arguments[name], tp)
            elif default is not inspect.Parameter.empty:
                value = default
            else:
                raise ValueError(f"{name!r} is a required property")
            if by_position:
                positional.append(value)
            else:
                keywords[name] = value
        if self.invocation is not None:
            keywords[self.invocation] = invocation
        return positional, keywords


def _convert(value: Any, tp: Any) -> Any:
    """A JSON value as the annotated type: Enum members, pydantic models, whole floats as int,
    element by element in lists and dicts."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        return _convert(value, args[0])
    if origin in _UNION_TYPES:
        for arm in args:
            try:
                converted = _convert(value, arm)
            except (ValueError, TypeError):
                continue
            if _fits(converted, arm):
                return converted
        return value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if _is_pydantic_model(tp):
        return tp.model_validate(value)
    if tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list) and args:
        items = [_convert(v, args[0]) for v in value]
        if origin in (set, frozenset, collections.abc.Set):
            return origin(items) if origin is not collections.abc.Set else set(items)
        return tuple(items) if origin is tuple else items
    if isinstance(value, list) and tp in (set, frozenset, tuple):
        return tp(value)
    if isinstance(value, dict) and len(args) == 2:
        return {k: _convert(v, args[1]) for k, v in value.items()}
    return value


def _fits(value: Any, tp: Any) -> bool:
    """Whether a converted value is of the union arm it was converted for."""
    if tp is Any or tp is object:
        return True
    if tp is None or tp is type(None):
        return value is None
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if origin is typing.Annotated:
        return _fits(value, typing.get_args(tp)[0])
    check = origin or tp
    if check is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if check is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(check, type) and isinstance(value, check)
