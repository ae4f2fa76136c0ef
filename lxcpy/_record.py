"""A small stand-in for ``dataclasses`` on the start-up path.

``dataclasses`` imports inspect (and with it ast, tokenize, enum, re) and builds six
functions per class with ``exec``: ~10 ms of import plus 0.5-2 ms per class on every
command that reaches the config model, the supervisor or the container's init. lxcpy's
records need only a generated ``__init__``, ``__repr__``, ``__eq__``, ``frozen`` and
``field(default=, default_factory=, compare=)``; this module gives exactly that (one
``exec`` per class, the rest shared), with the same names, so a module switches by
changing its import line. ``asdict`` and ``replace`` behave as the stdlib's do for these
records (``asdict`` recurses into records, lists, tuples and dicts).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing at run time: it is ~3-5 ms of every command's start
    from collections.abc import Callable
    from typing import Any, TypeVar

    _T = TypeVar("_T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record (as ``dataclasses.FrozenInstanceError``)."""


class Field:
    __slots__ = ("name", "default", "default_factory", "compare")

    def __init__(self, default: Any, default_factory: Any, compare: bool) -> None:
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def field(*, default: Any = MISSING, default_factory: Any = MISSING, compare: bool = True) -> Any:
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, compare)


def fields(obj: Any) -> tuple[Field, ...]:
    return tuple(obj.__dataclass_fields__.values())


if TYPE_CHECKING:
    from typing import dataclass_transform
else:
    def dataclass_transform(**_: object) -> object:  # for mypy only: a no-op at run time
        return lambda f: f


@dataclass_transform(field_specifiers=(field,))
def dataclass(cls: Any = None, *, frozen: bool = False) -> Any:
    """``@dataclass`` or ``@dataclass(frozen=True)``."""

    def wrap(c: type[_T]) -> type[_T]:
        return _process(c, frozen)

    return wrap if cls is None else wrap(cls)


_CLASSVAR = ("ClassVar", "typing.ClassVar")


def _process(cls: Any, frozen: bool) -> Any:
    # every record class of a start passes here at its import (18 on lxc-execute's path,
    # the config's 77 fields among them): the class dict read through one proxy, one pass
    attrs = cls.__dict__
    found: dict[str, Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        inherited = getattr(base, "__dataclass_fields__", None)
        if inherited:
            found.update(inherited)
    for name, annotation in attrs.get("__annotations__", {}).items():
        if (annotation if type(annotation) is str else str(annotation)).startswith(_CLASSVAR):
            continue
        value = attrs.get(name, MISSING)
        if type(value) is Field:
            if value.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, value.default)
        else:
            value = Field(value, MISSING, True)
        value.name = name
        found[name] = value
    cls.__dataclass_fields__ = found
    cls.__dataclass_params__ = frozen  # read by nothing but humans and is_record()

    # __init__: one shared generic function, not generated source: exec()'s compile cost
    # ~0.2-1 ms per class (~3 ms of the 18 classes a start makes, more under load) against
    # ~1-2 us more per instance; a missing or unknown argument is the usual TypeError
    plan: list[tuple[str, int, Any]] = []  # (name, kind 0 required/1 default/2 factory, default)
    defaulted = False
    for f in found.values():
        if f.default is not MISSING:
            plan.append((f.name, 1, f.default))
            defaulted = True
        elif f.default_factory is not MISSING:
            plan.append((f.name, 2, f.default_factory))
            defaulted = True
        elif defaulted:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            plan.append((f.name, 0, None))
    cls.__init__ = _make_init(cls.__qualname__, tuple(plan), frozen,
                              hasattr(cls, "__post_init__"))
    cls.__match_args__ = tuple(found)  # type: ignore[misc]  # set on a class being made

    cls.__compared__ = tuple(f.name for f in found.values() if f.compare)
    if "__repr__" not in attrs:
        cls.__repr__ = _repr
    if "__eq__" not in attrs:
        cls.__eq__ = _eq
    if frozen:
        cls.__setattr__ = _frozen_setattr
        cls.__delattr__ = _frozen_delattr
        if attrs.get("__hash__") is None:
            cls.__hash__ = _hash
    elif "__hash__" not in attrs:
        cls.__hash__ = None  # eq without frozen: unhashable, as dataclasses makes it
    return cls


def _make_init(qualname: str, plan: tuple[tuple[str, int, Any], ...], frozen: bool,
               post_init: bool) -> Callable[..., None]:
    names = tuple(name for name, _k, _d in plan)
    known = frozenset(names)
    setter = object.__setattr__ if frozen else setattr

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:  # noqa: N807
        if len(args) > len(names):
            raise TypeError(f"{qualname}.__init__() takes {len(names) + 1} positional "
                            f"arguments but {len(args) + 1} were given")
        for i, value in enumerate(args):
            if names[i] in kwargs:
                raise TypeError(f"{qualname}.__init__() got multiple values for argument "
                                f"{names[i]!r}")
            kwargs[names[i]] = value
        if not known.issuperset(kwargs):
            name = next(n for n in kwargs if n not in known)
            raise TypeError(f"{qualname}.__init__() got an unexpected keyword argument "
                            f"{name!r}")
        missing = [name for name, kind, _d in plan if kind == 0 and name not in kwargs]
        if missing:
            raise TypeError(f"{qualname}.__init__() missing {len(missing)} required "
                            f"argument{'s' if len(missing) > 1 else ''}: "
                            + ", ".join(map(repr, missing)))
        for name, kind, default in plan:
            if name in kwargs:
                setter(self, name, kwargs[name])
            elif kind == 1:
                setter(self, name, default)
            else:
                setter(self, name, default())
        if post_init:
            self.__post_init__()

    __init__.__qualname__ = f"{qualname}.__init__"
    return __init__


def _repr(self: Any) -> str:
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__dataclass_fields__)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = self.__compared__
    return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, n) for n in self.__compared__))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    if name in self.__dataclass_fields__:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    if name in self.__dataclass_fields__:
        raise FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


def is_record(obj: Any) -> bool:
    return hasattr(type(obj), "__dataclass_fields__") and not isinstance(obj, type)


def asdict(obj: Any, dict_factory: Callable[..., Any] = dict) -> Any:
    return dict_factory((n, _copy(getattr(obj, n))) for n in obj.__dataclass_fields__)


def _copy(value: Any) -> Any:
    if is_record(value):
        return asdict(value)
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return type(value)(_copy(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_copy(k), _copy(v)) for k, v in value.items())
    return value


def replace(obj: Any, **changes: Any) -> Any:
    for name in obj.__dataclass_fields__:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return type(obj)(**changes)
