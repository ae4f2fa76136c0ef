"""A click-free parser for the ordinary invocations of the hot commands.

Importing click costs ~37 ms, three times a bare interpreter start, and most invocations are
plain ``-n NAME -P DIR [-s ...] [-- COMMAND...]``. Each converted command keeps its click
declaration (``build()``: the one source of its options, help and error messages) and adds a
``Table`` mirroring it. ``parse`` returns the keyword arguments click would pass to the
command's callback, or None for anything it does not reproduce exactly (help, --version,
unknown or grouped options, a missing or rejected value, a missing argument, ...): the
caller then builds the click command and lets click parse, so every message stays click's.
tests/unit/test_fastpath.py checks each table against its click command.
"""

from __future__ import annotations

# Not `from typing import ...`: typing (and NamedTuple) would cost ~4 ms of every start-up.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Opt:
    """One option, as click declares it."""

    __slots__ = ("flags", "dest", "takes_value", "multiple", "required", "default",
                 "flag_value", "convert", "optional_value")

    def __init__(self, flags: tuple[str, ...], dest: str, takes_value: bool = True,
                 multiple: bool = False, required: bool = False, default: Any = None,
                 flag_value: Any = True, convert: Callable[[str], Any] | None = None,
                 optional_value: bool = False) -> None:
        self.flags = flags  # e.g. ("-n", "--name"); long forms start with "--"
        self.dest = dest
        self.takes_value = takes_value
        self.multiple = multiple
        self.required = required
        self.default = default  # after click's type conversion (-1.0 for a float option)
        self.flag_value = flag_value  # what a flag stores when given
        # click's type conversion and callback in one; raises ValueError where click fails
        self.convert = convert
        # click's optional value (``-e`` alone gives flag_value): not modelled, when it is
        # given the command line goes to click
        self.optional_value = optional_value


class Arg:
    """One positional argument: nargs 1 (required or not) or -1 (the rest, as a tuple)."""

    __slots__ = ("dest", "nargs", "required")

    def __init__(self, dest: str, nargs: int = 1, required: bool = True) -> None:
        self.dest = dest
        self.nargs = nargs
        self.required = required


class Table:
    """A command's options and arguments, and how its body is run."""

    __slots__ = ("options", "args", "interspersed", "name_required")

    def __init__(self, options: tuple[Opt, ...], args: tuple[Arg, ...] = (),
                 interspersed: bool = True, name_required: bool = True) -> None:
        self.options = options
        self.args = args
        self.interspersed = interspersed  # False: the first argument ends the options
        self.name_required = name_required  # common_options(name_required=...)


def _check_priority(value: str) -> str:
    # click's callback (_validate_priority) keeps the text; it only has to parse
    from lxcpy.log import parse_priority

    parse_priority(value)
    return value


def flag(flags: tuple[str, ...], dest: str, value: Any = True, default: Any = False) -> Opt:
    """An option that takes no value (click's is_flag / flag_value)."""
    return Opt(flags, dest, takes_value=False, default=default, flag_value=value)


# common_options() with its defaults; --version is left to click
COMMON: tuple[Opt, ...] = (
    Opt(("-n", "--name"), "name"),
    Opt(("-P", "--lxcpath"), "lxcpath"),
    Opt(("-o", "--logfile"), "logfile"),
    Opt(("-l", "--logpriority"), "logpriority", convert=_check_priority),
    flag(("-q", "--quiet"), "quiet"),
)

# common_options()'s --rcfile, left out of a table whose command declares -f, --rcfile
RCFILE = Opt(("--rcfile",), "rcfile")


# common.config_file_options(): -f and -s of lxc-execute and lxc-start
CONFIG_FILE_OPTS = (
    Opt(("-f", "--rcfile"), "config_file"),
    Opt(("-s", "--define"), "defines", multiple=True, default=()),
)


def table(*options: Opt, args: tuple[Arg, ...] = (), interspersed: bool = True) -> Table:
    """A Table of the common options plus ``options``."""
    own_rcfile = any("--rcfile" in opt.flags for opt in options)
    return Table(COMMON + (() if own_rcfile else (RCFILE,)) + options, args, interspersed)


def parse(spec: Table, argv: list[str]) -> dict[str, Any] | None:
    """``argv`` parsed as click would for ``spec``'s command, or None to let click do it."""
    by_flag = {text: opt for opt in spec.options for text in opt.flags}
    given: dict[str, list[tuple[Opt, Any]]] = {}  # dest -> (option, value) in order
    largs: list[str] = []
    rargs = list(argv)
    # The loop follows click's parser (_process_args_for_options / _process_opts).
    while rargs:
        arg = rargs.pop(0)
        if arg == "--":
            break  # click drops it; the rest are arguments
        if arg[:1] == "-" and len(arg) > 1:
            if arg[:2] == "--":
                long_flag, eq, explicit = arg.partition("=")
                opt = by_flag.get(long_flag)
                if opt is None or opt.optional_value:
                    return None
                if opt.takes_value:
                    if eq:
                        value: Any = explicit
                    elif rargs:
                        value = rargs.pop(0)  # click takes the next word, even "-x"
                    else:
                        return None
                elif eq:
                    return None  # "--quiet=1": click's error
                else:
                    value = opt.flag_value
            else:
                opt = by_flag.get(arg[:2])
                if opt is None or opt.optional_value:
                    return None
                if opt.takes_value:
                    if len(arg) > 2:
                        value = arg[2:]  # "-nNAME" (and "-n=x" is the name "=x" for click too)
                    elif rargs:
                        value = rargs.pop(0)
                    else:
                        return None
                elif len(arg) > 2:
                    return None  # grouped flags ("-sp"): click's
                else:
                    value = opt.flag_value
            given.setdefault(opt.dest, []).append((opt, value))
        elif spec.interspersed:
            largs.append(arg)
        else:
            rargs.insert(0, arg)
            break
    kwargs: dict[str, Any] = {}
    for opt in spec.options:
        if opt.dest in kwargs:
            continue  # two options for one dest (lxc-start's -d/-F): the last given wins
        entries = given.get(opt.dest)
        if not entries:
            if opt.required:
                return None  # click's "Missing option"
            kwargs[opt.dest] = opt.default
            continue
        values = []
        for owner, value in entries if opt.multiple else entries[-1:]:
            if owner.takes_value and owner.convert is not None:
                try:
                    value = owner.convert(value)
                except ValueError:
                    return None  # click's "Invalid value for ..."
            values.append(value)
        kwargs[opt.dest] = tuple(values) if opt.multiple else values[0]
    positional = largs + rargs
    for arg_spec in spec.args:
        if arg_spec.nargs == -1:
            kwargs[arg_spec.dest] = tuple(positional)
            positional = []
        elif positional:
            kwargs[arg_spec.dest] = positional.pop(0)
        elif arg_spec.required:
            return None  # click's "Missing argument"
        else:
            kwargs[arg_spec.dest] = None
    if positional:
        return None  # click's "Got unexpected extra argument"
    return kwargs
