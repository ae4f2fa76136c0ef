"""``json.dumps``/``json.loads`` for lxcpy's own messages, without importing ``json``.

``import json`` loads json.decoder, which compiles regular expressions: ``re`` and its
compiler, ~3-5 ms of every start (the sync channel, the resource record) and of every
``lxc-state``/``lxc-info`` of a running container (the command socket). The C
accelerator ``_json`` that ``json`` itself uses does the work here: its string encoder and
its scanner. The output is byte for byte ``json.dumps``'s with the default arguments
(``ensure_ascii``, ``", "`` and ``": "``), so either side of a socket may use either.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO, TextIO

_quote = _json.encode_basestring_ascii


def _constant(name: str) -> float:
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


class _Context:
    """The attributes ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)
    memo: dict[str, str] = {}


_scan = _json.make_scanner(_Context())


def dumps(obj: Any) -> str:
    """``json.dumps(obj)``; TypeError for what JSON cannot hold."""
    return "".join(_encode(obj, []))


def _encode(obj: Any, out: list[str]) -> list[str]:
    if isinstance(obj, str):
        out.append(_quote(obj))
    elif obj is None:
        out.append("null")
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(int.__repr__(obj))
    elif isinstance(obj, float):
        out.append(_float(obj))
    elif isinstance(obj, (list, tuple)):
        out.append("[")
        for i, item in enumerate(obj):
            if i:
                out.append(", ")
            _encode(item, out)
        out.append("]")
    elif isinstance(obj, dict):
        out.append("{")
        for i, (key, value) in enumerate(obj.items()):
            if i:
                out.append(", ")
            out.append(_quote(_key(key)))
            out.append(": ")
            _encode(value, out)
        out.append("}")
    else:
        raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")
    return out


def _float(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return {True: "true", False: "false", None: "null"}[key]
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float):
        return _float(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


_SPACE = " \t\n\r"


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)`` for UTF-8 input; ValueError for what is not one JSON value."""
    text = data.decode() if isinstance(data, (bytes, bytearray)) else data
    start = len(text) - len(text.lstrip(_SPACE))
    try:
        obj, end = _scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"Expecting value: char {stop.value}") from None
    if text[end:].strip(_SPACE):
        raise ValueError(f"Extra data: char {end}")
    return obj


def load(f: TextIO | BinaryIO) -> Any:
    return loads(f.read())
