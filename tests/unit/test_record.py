"""lxcpy._record against the stdlib's dataclasses: the same instances, and the same
TypeError for a call either refuses (the message names the class)."""

from __future__ import annotations

import dataclasses

import pytest

from lxcpy import _record


def make(module):  # noqa: ANN001, ANN201
    @module.dataclass
    class Plain:
        a: int
        b: str = "x"
        c: list[int] = module.field(default_factory=list)
        d: int = module.field(default=4, compare=False)

    @module.dataclass(frozen=True)
    class Frozen:
        a: int
        b: tuple[int, ...] = ()

    @module.dataclass
    class Post:
        a: int
        seen: list[str] = module.field(default_factory=list)

        def __post_init__(self) -> None:
            self.seen.append(f"post {self.a}")

    return Plain, Frozen, Post


OURS, STD = make(_record), make(dataclasses)
CALLS = [
    (0, (1,), {}), (0, (1, "y"), {"d": 7}), (0, (), {"a": 2, "c": [3]}), (0, (1, "y", [2], 5), {}),
    (1, (1,), {}), (1, (), {"a": 1, "b": (2,)}), (2, (3,), {}),
]
BAD = [
    (0, (), {}), (0, (1, "y", [], 4, 5), {}), (0, (1,), {"a": 2}), (0, (1,), {"zz": 1}),
    (1, (), {"b": ()}),
]


@pytest.mark.parametrize(("which", "args", "kwargs"), CALLS)
def test_same_instances(which: int, args: tuple, kwargs: dict) -> None:
    ours, std = OURS[which](*args, **dict(kwargs)), STD[which](*args, **dict(kwargs))
    assert vars(ours) == vars(std)
    assert _record.asdict(ours) == dataclasses.asdict(std)
    assert (ours == OURS[which](*args, **dict(kwargs))) is True


@pytest.mark.parametrize(("which", "args", "kwargs"), BAD)
def test_same_refusals(which: int, args: tuple, kwargs: dict) -> None:
    with pytest.raises(TypeError) as std:
        STD[which](*args, **dict(kwargs))
    with pytest.raises(TypeError) as ours:
        OURS[which](*args, **dict(kwargs))
    assert type(ours.value) is type(std.value)
    assert OURS[which].__qualname__.rsplit(".", 1)[-1] in str(ours.value)


def test_factories_are_fresh_and_frozen_holds() -> None:
    plain = OURS[0]
    assert plain(1).c is not plain(1).c
    frozen = OURS[1](1)
    with pytest.raises(_record.FrozenInstanceError):
        frozen.a = 2  # type: ignore[misc]
    assert hash(frozen) == hash(OURS[1](1))
    assert plain(1, d=1) == plain(1, d=2)  # compare=False
