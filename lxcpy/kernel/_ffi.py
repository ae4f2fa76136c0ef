"""The few C types and the libc handle lxcpy.kernel calls through, on ``_ctypes`` alone.

The ``ctypes`` package costs every start ~2.5-3.5 ms of imports (ctypes, ctypes._endian,
struct, types) for a dozen types and CDLL that lxcpy needs a handful of. This module
defines those the way ctypes/__init__.py (CPython 3.11) does - the same ``_ctypes``
classes, type codes and function-pointer flags - so a call made here behaves exactly as
the same call through ``ctypes.CDLL(None, use_errno=True)``: objects of either are
interchangeable in a call (both are ``_ctypes`` data), and ``get_errno`` is the same
per-thread errno that ``ctypes.get_errno`` reads.

Private to lxcpy.kernel (the only place lxcpy calls libc).
"""

from __future__ import annotations

import sys
from _ctypes import (
    FUNCFLAG_CDECL,
    FUNCFLAG_PYTHONAPI,
    FUNCFLAG_USE_ERRNO,
    POINTER,
    RTLD_LOCAL,
    CFuncPtr,
    Structure,
    _SimpleCData,
    addressof,
    byref,
    dlopen,
    get_errno,
    sizeof,
)

__all__ = ["POINTER", "Library", "Structure", "addressof", "byref", "c_char", "c_char_p",
           "c_int", "c_long", "c_size_t", "c_uint", "c_uint64", "c_ulong", "c_ushort",
           "c_void_p", "create_string_buffer", "get_errno", "libc", "load_library",
           "pythonapi", "sizeof"]

TYPE_CHECKING = False
if TYPE_CHECKING:  # to a type checker they are ctypes' own: the same _ctypes types by code
    from ctypes import (
        Array,
        c_char,
        c_char_p,
        c_int,
        c_long,
        c_uint,
        c_uint64,
        c_ulong,
        c_ushort,
        c_void_p,
    )
else:
    # Type codes are struct's (ctypes/__init__.py); ctypes aliases c_int to c_long where
    # they are the same size, which no Linux ABI lxcpy runs on has: separate here.
    class c_ushort(_SimpleCData):
        _type_ = "H"

    class c_int(_SimpleCData):
        _type_ = "i"

    class c_uint(_SimpleCData):
        _type_ = "I"

    class c_long(_SimpleCData):
        _type_ = "l"

    class c_ulong(_SimpleCData):
        _type_ = "L"

    class c_uint64(_SimpleCData):  # "Q" is 64 bits on every ABI (ctypes picks L or Q)
        _type_ = "Q"

    class c_void_p(_SimpleCData):
        _type_ = "P"

    class c_char(_SimpleCData):
        _type_ = "c"

    class c_char_p(_SimpleCData):  # takes bytes or None (NULL); a restype gives bytes
        _type_ = "z"


# size_t: the unsigned integer as wide as a pointer (ctypes' own choice, in its order)
c_size_t = c_uint if sizeof(c_uint) == sizeof(c_void_p) else c_ulong


def create_string_buffer(init: bytes | int, size: int | None = None) -> Array[c_char]:
    """ctypes.create_string_buffer: a zeroed char array holding ``init`` (bytes, plus a NUL
    unless ``size`` says otherwise) or ``init`` bytes long (int)."""
    if isinstance(init, bytes):
        if size is None:
            size = len(init) + 1
        sys.audit("ctypes.create_string_buffer", init, size)
        buf = (c_char * size)()
        buf.value = init
        return buf
    if isinstance(init, int):
        sys.audit("ctypes.create_string_buffer", None, init)
        return (c_char * init)()
    raise TypeError(init)


class Library:
    """ctypes.CDLL/PyDLL: of the running program (dlopen(NULL): libc and libpython), or
    of the shared library ``name``.

    Every function returns a C int unless its ``restype`` is set, and takes its arguments
    untyped unless its ``argtypes`` are set (an untyped Python int is passed as a C int:
    wider values must be passed typed)."""

    _handle = 0  # as ctypes.CDLL: never looked up as a function, even on a half-made one

    def __init__(self, flags: int, name: str | None = None) -> None:
        class _FuncPtr(CFuncPtr):
            _flags_ = flags
            _restype_ = c_int

        self._FuncPtr = _FuncPtr
        # what CDLL does (RTLD_NOW added by _ctypes; OSError if it cannot be loaded);
        # typeshed wants a name
        self._handle = dlopen(name, RTLD_LOCAL)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> CFuncPtr:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        # looks the symbol up in self._handle (typeshed wants a ctypes.CDLL: any object
        # with an int _handle will do)
        func = self._FuncPtr((name, self))  # type: ignore[arg-type]
        setattr(self, name, func)  # once per name
        return func


_libs: dict[int, Library] = {}


def _library(flags: int) -> Library:
    lib = _libs.get(flags)
    if lib is None:
        lib = _libs[flags] = Library(flags)
    return lib


def libc() -> Library:
    """ctypes.CDLL(None, use_errno=True): the GIL is released across each call, and the
    C errno is swapped with the thread's ctypes errno around it (read it with get_errno)."""
    return _library(FUNCFLAG_CDECL | FUNCFLAG_USE_ERRNO)


def pythonapi(use_errno: bool = False) -> Library:
    """ctypes.PyDLL(None[, use_errno=True]) (``ctypes.pythonapi`` without errno): the GIL
    is kept across each call, and a Python exception the call sets is raised."""
    return _library(FUNCFLAG_CDECL | FUNCFLAG_PYTHONAPI | (FUNCFLAG_USE_ERRNO if use_errno
                                                           else 0))


def load_library(name: str) -> Library:
    """ctypes.CDLL(name, use_errno=True): a new handle (its functions' argtypes and restype
    are its own); OSError if the library cannot be loaded."""
    return Library(FUNCFLAG_CDECL | FUNCFLAG_USE_ERRNO, name)
