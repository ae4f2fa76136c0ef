"""What every lxc-* command shares: LXC's common options and the one-line error rule.

Every failure reaches the user as exactly one line ``prog: name: message`` on stderr and a
non-zero exit; a traceback only with ``-l DEBUG`` or ``-l TRACE``.

Importing this module does not import click (~37 ms): the hot commands parse their ordinary
invocations with lxcpy.cli.fastpath and build their click command only when it cannot.
"""

from __future__ import annotations

import os
import sys

# What `--version` prints: the LXC release whose command line and behaviour lxcpy follows
# (drivers such as vagrant-lxc switch code paths on it). lxcpy's own version
# (lxcpy.__version__) is printed by lxc-checkconfig.
LXC_VERSION = "5.0.2"

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of every start-up
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    import click

    from lxcpy.cli.fastpath import Table

# LXC's -?, -h and --help all print the help
CONTEXT = {"help_option_names": ["-h", "--help", "-?"], "max_content_width": 100}
# Commands that take a program to run: the first argument that is no option starts the
# program's command line. An unknown option before it is a usage error, never a program.
COMMAND_CONTEXT = {**CONTEXT, "allow_interspersed_args": False}


class State:
    """The parsed common options of one invocation."""

    prog: str = "lxc"
    name: str | None = None
    lxcpath: str = "/var/lib/lxc"
    logfile: str | None = None
    logpriority: str | None = None
    quiet: bool = False


STATE = State()


def one_line(text: str) -> str:
    """``text`` with its line breaks and other control characters shown escaped.

    A name or a value from the user (``-n $'a\\nb'``) must not split the one error line.
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def fail(message: str, code: int = 1) -> None:
    """Print the one error line and exit."""
    prefix = f"{STATE.prog}: {STATE.name}: " if STATE.name else f"{STATE.prog}: "
    sys.stderr.write(one_line(prefix + message) + "\n")
    sys.stderr.flush()
    raise SystemExit(code)


def echo(text: str) -> None:
    """``click.echo(text)`` without importing click for the plain text commands print."""
    stdout = sys.stdout
    if stdout is None or not (text.isascii() and text.replace("\n", "").isprintable()):
        import click  # None, ANSI codes (stripped when not a tty), encodings: click's rules

        click.echo(text)
        return
    stdout.write(text + "\n")
    stdout.flush()


def _validate_priority(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is None:
        return None
    import click

    from lxcpy.log import parse_priority

    try:
        parse_priority(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def common_options(name_required: bool = True, name_multiple: bool = False,
                   lxcpath_multiple: bool = False,
                   rcfile: bool = True) -> Callable[[Callable[..., Any]], Any]:
    """Add LXC's shared options: -n, -P, -o, -l, -q, --version, --rcfile.

    ``rcfile=False`` for the commands declaring their own ``-f, --rcfile`` (lxc-execute,
    lxc-start, lxc-attach). The others get ``rcfile`` (FILE or None): a command LXC's tool
    loads it in acts on it through container_for(); the ones where LXC only parses it
    (lxc-create, -ls, -monitor, -top, -unshare, -autostart) accept it and ignore it, as LXC.
    """
    import click

    def decorate(fn: Callable[..., Any]) -> Any:
        if rcfile:
            fn = click.option("--rcfile", "rcfile", metavar="FILE",
                              help="load configuration file FILE (instead of the "
                                   "container's)")(fn)
        fn = click.option("-n", "--name", "name", multiple=name_multiple,
                          help="NAME of the container" + (" (a regex; may repeat)"
                                                          if name_multiple else ""))(fn)
        fn = click.option("-P", "--lxcpath", "lxcpath", multiple=lxcpath_multiple,
                          envvar=None,
                          help="use specified container path (default $LXC_LXCPATH or "
                               "/var/lib/lxc)")(fn)
        fn = click.option("-o", "--logfile", "logfile", help="output log to FILE")(fn)
        fn = click.option("-l", "--logpriority", "logpriority", callback=_validate_priority,
                          help="set log priority to LEVEL (TRACE..FATAL)")(fn)
        fn = click.option("-q", "--quiet", "quiet", is_flag=True,
                          help="don't produce any output")(fn)
        fn = click.version_option(LXC_VERSION, "--version", message="%(version)s")(fn)
        fn = usage_option()(fn)

        import functools

        @functools.wraps(fn)
        def wrapper(**kwargs: Any) -> Any:
            return invoke(fn, kwargs, name_required, name_multiple, lxcpath_multiple)

        # read by tests/unit/test_fastpath.py: the fast tables assume these
        common = (name_required, name_multiple, lxcpath_multiple)
        wrapper.lxcpy_common = common  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _print_usage(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import click

    click.echo(ctx.get_usage())
    ctx.exit(0)


def usage_option() -> Callable[[Callable[..., Any]], Any]:
    """LXC's --usage: the one usage line, exit 0."""
    import click

    return click.option("--usage", is_flag=True, expose_value=False, is_eager=True,
                        callback=_print_usage, help="give the short usage message")


def invoke(fn: Callable[..., Any], kwargs: dict[str, Any], name_required: bool = True,
           name_multiple: bool = False, lxcpath_multiple: bool = False) -> Any:
    """Run a command body with the parsed options: the common options' meaning, one place.

    Both parsers end here: click (through common_options' wrapper) and lxcpy.cli.fastpath.
    """
    from lxcpy.paths import default_lxcpath

    name = kwargs.get("name")
    STATE.name = None if name_multiple else name
    STATE.logfile = kwargs.get("logfile")
    STATE.logpriority = kwargs.get("logpriority")
    STATE.quiet = kwargs.get("quiet", False)
    if lxcpath_multiple:
        kwargs["lxcpath"] = list(kwargs["lxcpath"]) or [default_lxcpath()]
    else:
        kwargs["lxcpath"] = kwargs["lxcpath"] or default_lxcpath()
    STATE.lxcpath = kwargs["lxcpath"] if not lxcpath_multiple else kwargs["lxcpath"][0]
    if name_required and not name:
        fail("No container name specified")
    if STATE.logfile or STATE.logpriority:
        from lxcpy import log
        from lxcpy.log import parse_priority

        pri = parse_priority(STATE.logpriority) if STATE.logpriority else None
        run_guarded(log.setup, prog=STATE.prog, name=STATE.name,
                    logfile=STATE.logfile, priority=pri, quiet=STATE.quiet)
    return run_guarded(fn, **kwargs)


def container_for(name: str, lxcpath: str, rcfile: str | None = None) -> Any:
    """The command's Container; with --rcfile, FILE is its config (LXC: clear_config,
    load_config(FILE), configfile = FILE), loaded now so a FILE that does not load is the
    command's error before it does anything (LXC: "Failed to load rcfile", exit 1)."""
    from lxcpy.container import Container

    container = Container(name, lxcpath, rcfile=rcfile)
    if rcfile is not None:
        container.load_config()
    return container


def config_file_options() -> list[Callable[[Any], Any]]:
    """-f FILE and -s KEY=VAL, which lxc-execute and lxc-start share (as in LXC)."""
    import click

    return [
        click.option("-f", "--rcfile", "config_file", help="load configuration from FILE"),
        click.option("-s", "--define", "defines", multiple=True, metavar="KEY=VAL",
                     help="assign VAL to configuration KEY"),
    ]


def declare(fn: Callable[..., Any], *decorators: Callable[[Any], Any]) -> click.Command:
    """``@decorators[0] @decorators[1] ... def fn``: a ``build()``'s click command.

    They decorate a fresh function running ``fn``: click's decorators keep their options on
    the function they decorate, so decorating the module's ``run`` itself would pile them
    up each time a command is built.
    """

    import functools

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        return fn(**kwargs)

    target: Any = call
    for decorator in reversed(decorators):
        target = decorator(target)
    return target


def debugging() -> bool:
    return (STATE.logpriority or "").upper() in ("DEBUG", "TRACE", "0", "1")


def run_guarded(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """Run a command body; turn every failure into one line and an exit code."""
    from lxcpy.errors import LxcError

    try:
        return fn(**kwargs)
    except BrokenPipeError:
        # the reader went away (`lxc-ls | head -1`): stop quietly, like a C tool killed by
        # SIGPIPE; handled here, before click would turn it into exit 1
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(141) from None
    except LxcError as exc:
        if debugging():
            import traceback

            traceback.print_exc()
        fail(exc.message, exc.exit_code)
    except OSError as exc:
        if debugging():
            import traceback

            traceback.print_exc()
        from lxcpy.paths import oserror_message

        fail(oserror_message(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:  # a bug: still one line, unless debugging
        click = sys.modules.get("click")  # a click exception means click is imported
        if click is not None and isinstance(exc, (click.exceptions.Exit, click.ClickException,
                                                  click.Abort)):
            raise
        if debugging():
            raise
        fail(f"internal error: {exc.__class__.__name__}: {exc} (run with -l DEBUG for details)")


_command_class_made: list[type[click.Command]] = []  # not functools.cache: no functools
# (and its collections) on the click-free paths, ~1 ms of lxc-state


def _command_class() -> type[click.Command]:
    """click.Command, made only when click is needed (the class statement needs click)."""
    if _command_class_made:
        return _command_class_made[0]
    import click

    class _Command(click.Command):
        """A click command whose parser skips click's unused "did you mean" search.

        click tries every ``-x`` as a long option first and builds a NoSuchOption with
        difflib suggestions that it throws away before trying ``-x`` as a short option:
        ~2 ms (difflib's import) of every command. ``--typo`` still gets click's suggestions.
        """

        def make_parser(self, ctx: click.Context) -> Any:
            parser = super().make_parser(ctx)
            long_opts = getattr(parser, "_long_opt", None)
            prefixes = getattr(parser, "_opt_prefixes", None)
            match_long = getattr(parser, "_match_long_opt", None)
            if (isinstance(long_opts, dict) and isinstance(prefixes, set)
                    and callable(match_long)):
                def match(opt: str, explicit_value: str | None, state: Any) -> None:
                    if opt not in long_opts and opt[:2] not in prefixes:
                        raise click.NoSuchOption(opt, ctx=ctx)  # click tries the short form
                    match_long(opt, explicit_value, state)

                parser._match_long_opt = match  # type: ignore[method-assign]
            return parser

    _command_class_made.append(_Command)
    return _Command


def entry(prog: str, command: click.Command | Callable[[], click.Command],
          fast: Table | None = None, run: Callable[..., Any] | None = None
          ) -> Callable[[], None]:
    """Make a console-script entry point that runs a command as ``prog``.

    ``command`` is a click command, or a function building it (imports click only when
    called). With ``fast`` (a lxcpy.cli.fastpath table) and ``run`` (the command body), an
    invocation the fast parser understands runs ``run`` without click; anything else
    goes to click as before.
    """

    def main() -> None:
        try:
            try:
                run_command()
            except KeyboardInterrupt:
                # Ctrl-C while still importing or parsing (the command's own run reports
                # it the same way): one line, as on click's path
                fail("interrupted", 130)
        except SystemExit as exc:
            exit_now(exc.code)  # returns when the normal exit must run
            raise
        exit_now(0)

    def run_command() -> None:
        STATE.prog = prog
        if fast is not None and run is not None:
            from lxcpy.cli.fastpath import parse

            kwargs = parse(fast, sys.argv[1:])
            if kwargs is not None:
                invoke(run, kwargs, fast.name_required)
                return
        _run_click(prog, command)  # help, errors, and what fastpath leaves to click

    return main


def _run_click(prog: str, command: click.Command | Callable[[], click.Command]) -> None:
    """Parse the command line with click and run the command; click's errors as one line."""
    import click

    if not isinstance(command, click.Command):
        command = command()  # a builder
    if type(command) is click.Command:
        command.__class__ = _command_class()  # every lxc-* is a plain @click.command
    try:
        command.main(prog_name=prog, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        raise SystemExit(1) from None
    except click.UsageError as exc:
        fail(exc.format_message().splitlines()[0])
    except click.ClickException as exc:
        fail(exc.format_message())
    except click.exceptions.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except click.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt):  # Ctrl-C while parsing
            fail("interrupted", 130)
        fail("aborted")


def exit_now(code: object) -> None:
    """End a console script at once with ``code``, skipping the interpreter's finalisation.

    Tearing down ~150 modules and their objects costs 10-16 ms that a finished command does
    not need (about a third of ``lxc-state``). atexit handlers still run and stdout/stderr
    are flushed first. Returns (for the ordinary exit) when ``lxcpy.cli.common`` is not
    running as an ``lxc-*`` script (e.g. main() called by a Python program), when the code
    is not an int, when a non-daemon thread is alive, or when a flush fails.
    """
    main_file = getattr(sys.modules.get("__main__"), "__file__", None) or ""
    if not os.path.basename(main_file).startswith("lxc-"):
        return
    if code is None:
        code = 0
    if not isinstance(code, int):
        return
    threading = sys.modules.get("threading")
    if threading is not None and any(t.is_alive() and not t.daemon
                                     for t in threading.enumerate()
                                     if t is not threading.main_thread()):
        return
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        return  # let the ordinary exit report it as before
    import atexit

    atexit._run_exitfuncs()  # e.g. logging.shutdown(): flushes a -o log file
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code & 0xFF)
