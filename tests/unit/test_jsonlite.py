"""lxcpy.jsonlite writes exactly what json.dumps writes and reads what json.loads reads:
either side of the command socket and the sync channel may use either."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lxcpy import jsonlite

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_same_text_as_json(value: object) -> None:
    text = jsonlite.dumps(value)
    assert text == json.dumps(value)
    assert jsonlite.loads(text) == json.loads(text)
    assert jsonlite.loads(text.encode()) == json.loads(text)


def test_keys_tuples_and_specials_as_json() -> None:
    value = {2: (1, "a"), True: None, None: 2.5, 1.5: "é\n\"\\", "s": [float("inf")]}
    assert jsonlite.dumps(value) == json.dumps(value)
    assert math.isnan(jsonlite.loads(jsonlite.dumps(float("nan"))))


@pytest.mark.parametrize("text", [b"", b"  ", b"{", b"{} x", b"nul", b'{"a": }', b"[1,]"])
def test_not_one_value_is_valueerror(text: bytes) -> None:
    with pytest.raises(ValueError):
        jsonlite.loads(text)


def test_unserialisable_is_typeerror() -> None:
    with pytest.raises(TypeError):
        jsonlite.dumps({"a": object()})
    with pytest.raises(TypeError):
        jsonlite.dumps({(1, 2): 1})


def test_malformed_is_valueerror_before_json_is_imported() -> None:
    # _json raises its syntax errors through json.decoder.JSONDecodeError only once json is
    # imported; this module imports json, so the check runs in a fresh interpreter.
    import subprocess
    import sys

    probe = ("import sys\nfrom lxcpy import jsonlite\nassert 'json' not in sys.modules\n"
             "for t in ('{', '{\"a\"', '[1,', '{\"a\": 1,'):\n"
             "    try:\n        jsonlite.loads(t)\n    except ValueError:\n        continue\n"
             "    raise SystemExit(f'no ValueError for {t!r}')\n")
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
