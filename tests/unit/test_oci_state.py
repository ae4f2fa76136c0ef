"""The OCI state store and state JSON (lxcpy.oci.state)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lxcpy.oci.state import Record, StateError, Store, check_id, start_time, state_json


def test_ids_with_a_slash_are_refused() -> None:
    for bad in ("", "a/b", "..", ".", "a\nb"):
        with pytest.raises(StateError):
            check_id(bad)
    assert check_id("abc-1_2.3") == "abc-1_2.3"


def test_make_refuses_an_id_in_use(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    os.close(store.make("c1"))
    with pytest.raises(StateError, match="container with id exists: c1"):
        store.make("c1")


def test_state_json_fields_and_status(tmp_path: Path) -> None:
    store = Store(str(tmp_path))
    os.close(store.make("c1"))
    me = os.getpid()
    rec = Record(id="c1", bundle="/b", pid=me, start_time=start_time(me),
                 annotations={"a": "b"})
    store.save(rec)
    loaded = store.load("c1")
    assert loaded == rec
    os.mkfifo(store.fifo("c1"))
    s = state_json(store, loaded)
    assert s["ociVersion"].startswith("1.") and s["id"] == "c1"
    assert (s["status"], s["pid"], s["bundle"]) == ("created", me, "/b")
    assert s["annotations"] == {"a": "b"}
    os.unlink(store.fifo("c1"))
    assert state_json(store, loaded)["status"] == "running"
    # a PID whose start time differs is another process: the init has gone
    loaded.start_time = "1"
    assert state_json(store, loaded)["status"] == "stopped"
    assert state_json(store, loaded)["pid"] == 0
    assert store.ids() == ["c1"]
    store.remove("c1")
    assert store.ids() == []
    with pytest.raises(StateError, match="container does not exist: c1"):
        store.load("c1")
