"""Plain JSON for the core's frozen dataclasses, and back: the facts of a decision, kept to replay it.

``encode`` turns dataclasses, enums, datetimes, tuples, sets and dicts into JSON values;
``decode`` rebuilds a value of a given type from them, reading the dataclasses' type hints, so
that a decision replayed from stored facts gets the very objects it was made from.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import datetime
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin

T = TypeVar("T")


_PLAIN = frozenset({str, int, float, bool, type(None)})  # exact types: a str enum is not plain


@cache
def _field_names(cls: type) -> tuple[str, ...] | None:
    """The fields of a dataclass type, None for any other type (asked once per type: a pass encodes thousands)."""
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    return None


def encode(value: Any) -> Any:
    """A JSON value for ``value`` (dataclasses become objects of their fields)."""
    if type(value) in _PLAIN:
        return value
    names = _field_names(type(value))  # type: ignore[arg-type]  # every type is hashable
    if names is not None:
        return {name: encode(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {(key.value if isinstance(key, enum.Enum) else str(key)): encode(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(encode(item) for item in value)
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(kind: Any, data: Any) -> Any:
    """The value of type ``kind`` that ``encode`` turned into ``data``."""
    if data is None:
        return None
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [option for option in get_args(kind) if option is not type(None)]
        return decode(options[0], data)
    if origin in (tuple,):
        args = get_args(kind)
        item = args[0] if args else Any
        return tuple(decode(item, value) for value in data)
    if origin in (list,):
        return [decode(get_args(kind)[0], value) for value in data]
    if origin in (frozenset, set):
        return frozenset(decode(get_args(kind)[0], value) for value in data)
    if origin in (dict,) or kind is dict:
        key_type, value_type = get_args(kind) or (str, Any)
        return {decode(key_type, key): decode(value_type, value) for key, value in data.items()}
    if kind is Any:
        return data
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{f.name: decode(hints[f.name], data[f.name]) for f in dataclasses.fields(kind) if f.init
                       and f.name in data})
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    if kind is datetime:
        return datetime.fromisoformat(data)
    if kind is int and isinstance(data, str):
        return int(data)
    return data
