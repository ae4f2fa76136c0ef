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


_scan = _json.make_scanner(_Context())  # type: ignore[arg-type]  # duck-typed decoder


def dumps(obj: Any) -> str:
    """``json.dumps(obj)``; TypeError for what JSON cannot hold, ValueError for a cycle.

    ``_json``'s C encoder with json.dumps's default arguments, as ``json`` builds it
    (a fresh marker dict per call: its cycle check)."""
    encode = _json.make_encoder({}, _not_serializable, _quote, None, ": ", ", ", False,
                                False, True)
    return "".join(encode(obj, 0))


def _not_serializable(obj: Any) -> Any:
    raise TypeError(f"Object of type {obj.__class__.__name__} is not JSON serializable")


_SPACE = " \t\n\r"


def loads(data: str | bytes | bytearray) -> Any:
    """``json.loads(data)`` for UTF-8 input; ValueError for what is not one JSON value."""
    text = data.decode() if isinstance(data, (bytes, bytearray)) else data
    start = len(text) - len(text.lstrip(_SPACE))
    try:
        obj, end = _scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"Expecting value: char {stop.value}") from None
    except SystemError:
        # _json reports most syntax errors through json.decoder.JSONDecodeError, which it
        # finds only once json is imported (else: "returned NULL without setting an
        # exception"); the error path may pay for json to say what is wrong.
        import json

        json.loads(text)  # raises JSONDecodeError, a ValueError
        raise
    if text[end:].strip(_SPACE):
        raise ValueError(f"Extra data: char {end}")
    return obj


def load(f: TextIO | BinaryIO) -> Any:
    return loads(f.read())
