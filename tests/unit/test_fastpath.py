"""The click-free parser of the hot commands agrees with their click declarations.

lxcpy.cli.fastpath parses ordinary invocations without importing click and hands anything
else to click. These tests keep each command's fast table equal to its click command and
check, over a matrix of ordinary and odd command lines, that whenever the fast parser
answers it answers exactly what click would pass to the command body.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest

from lxcpy.cli import (
    attach,
    cgroup,
    common,
    execute,
    fastpath,
    freeze,
    info,
    kill,
    ps,
    start,
    state,
    stop,
    wait,
)

# prog -> (module, builder, fast table, body)
COMMANDS: dict[str, tuple[ModuleType, Any, fastpath.Table, Any]] = {
    "lxc-state": (state, state.build, state.FAST, state.run),
    "lxc-info": (info, info.build, info.FAST, info.run),
    "lxc-freeze": (freeze, freeze.build_freeze, freeze.FAST, freeze.run_freeze),
    "lxc-unfreeze": (freeze, freeze.build_unfreeze, freeze.FAST, freeze.run_unfreeze),
    "lxc-execute": (execute, execute.build, execute.FAST, execute.run),
    "lxc-start": (start, start.build, start.FAST, start.run),
    "lxc-stop": (stop, stop.build, stop.FAST, stop.run),
    "lxc-kill": (kill, kill.build, kill.FAST, kill.run),
    "lxc-wait": (wait, wait.build, wait.FAST, wait.run),
    "lxc-cgroup": (cgroup, cgroup.build, cgroup.FAST, cgroup.run),
    "lxc-attach": (attach, attach.build, attach.FAST, attach.run),
    "lxc-ps": (ps, ps.build, ps.FAST, ps.run),
}

# the conversions a table may use for a click type, and for a click callback
CONVERTERS: dict[type, Any] = {click.types.StringParamType: None,
                               click.types.UnprocessedParamType: None,
                               click.types.IntParamType: int, click.types.FloatParamType: float}
CALLBACKS: dict[Any, Any] = {None: None, common._validate_priority: fastpath._check_priority}


def build(prog: str) -> click.Command:
    cmd = COMMANDS[prog][1]()
    cmd.__class__ = common._command_class()  # as entry() runs it
    return cmd


def click_params(prog: str, argv: list[str]) -> dict[str, Any] | None:
    """What click passes to the command body for ``argv``, or None if click refuses it."""
    try:
        ctx = build(prog).make_context(prog, list(argv))
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        return None
    return dict(ctx.params)


def typed(params: dict[str, Any]) -> dict[str, tuple[type, Any]]:
    return {key: (type(value), value) for key, value in params.items()}


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_table_matches_click_declaration(prog: str) -> None:
    module, _, table, body = COMMANDS[prog]
    cmd = build(prog)
    # the body click runs is the module's run function, through common_options' wrapper
    assert cmd.callback is not None
    assert cmd.callback.__wrapped__.__wrapped__ is body  # type: ignore[attr-defined]
    assert cmd.callback.lxcpy_common == (table.name_required, False, False)  # type: ignore[attr-defined]
    settings = cmd.context_settings
    assert table.interspersed == settings.get("allow_interspersed_args", True)
    assert not settings.get("allow_extra_args") and not settings.get("token_normalize_func")

    ctx = click.Context(cmd)
    options = [p for p in cmd.params if isinstance(p, click.Option)]
    eager = [p for p in options if p.is_eager]
    # left to click, like -h/--help/-?
    assert sorted(p.opts for p in eager) == [["--usage"], ["--version"]]
    declared = []
    for param in options:
        if param.is_eager:
            continue
        assert param.envvar is None and not param.secondary_opts and param.nargs == 1
        assert not param.count  # not modelled by fastpath
        assert all(o.startswith("--") or len(o) == 2 for o in param.opts)
        default = param.get_default(ctx)
        if default is click.core.UNSET:  # type: ignore[attr-defined]
            default = () if param.multiple else None
        convert = CONVERTERS[type(param.type)] if not param.is_flag else None
        if param.callback is not None or not param.is_flag:
            assert param.callback in CALLBACKS
            if param.callback is not None:
                convert = CALLBACKS[param.callback]
        if convert is not None and default is not None:
            default = convert(default)
        flag_value = param.flag_value if param.is_flag or param._flag_needs_value else True
        if flag_value is click.core.UNSET:  # type: ignore[attr-defined]
            flag_value = True  # a plain is_flag=True option
        declared.append((tuple(param.opts), param.name, not param.is_flag, param.multiple,
                         param.required, (type(default), default), flag_value, convert,
                         bool(param._flag_needs_value)))
    fast = [(o.flags, o.dest, o.takes_value, o.multiple, o.required,
             (type(o.default), o.default),
             o.flag_value if not o.takes_value or o.optional_value else True,
             o.convert, o.optional_value) for o in table.options]
    assert sorted(fast, key=repr) == sorted(declared, key=repr)

    arguments = [p for p in cmd.params if isinstance(p, click.Argument)]
    assert [(a.name, a.nargs, a.required) for a in arguments] == \
        [(a.dest, a.nargs, a.required) for a in table.args]
    for argument in arguments:
        assert CONVERTERS[type(argument.type)] is None and argument.callback is None
    assert all(a.nargs == 1 for a in table.args[:-1])  # only the last may take the rest
    assert module.__name__.startswith("lxcpy.cli.")


# command lines fast must handle (and match click on); NAME/DIR keep them harmless
ORDINARY: dict[str, list[list[str]]] = {
    "lxc-state": [["-n", "c"], ["-P", "/tmp/x", "-n", "c"], ["--name=c", "--lxcpath", "/x"],
                  ["-nc", "-P/x"], ["-n", "c", "-q", "-l", "DEBUG", "-o", "/tmp/log"],
                  ["-n", "c", "-l", "info"], ["-n", "c", "-n", "d"], ["-n", "-q"], ["-n=c"],
                  ["-n", ""], ["-P", "/x"], [], ["-n", "c", "--"]],
    "lxc-info": [["-n", "c", "-s"], ["-s", "-n", "c", "-p", "-H"],
                 ["-n", "c", "-c", "a", "-c", "b"],
                 ["-n", "c", "-i", "-S", "--no-humanize", "--config=lxc.x"]],
    "lxc-freeze": [["-n", "c"], ["-n", "c", "-P", "/x"]],
    "lxc-unfreeze": [["-n", "c"]],
    "lxc-execute": [["-n", "c", "--", "/bin/true"], ["-n", "c", "/bin/true", "-n", "x"],
                    ["-n", "c", "-f", "cfg", "-s", "a=b", "-s", "c=d", "--", "sh", "-c", "x"],
                    ["-n", "c", "-u", "0", "-g", "7", "-d", "--", "--", "x"],
                    ["-n", "c", "--", "-h"], ["-n", "c", "-", "x"], ["-n", "c"],
                    ["-n", "c", "-u", " 12 ", "--", "x"], ["-n", "c", "--uid=5", "true"]],
    "lxc-start": [["-n", "c"], ["-n", "c", "-F"], ["-n", "c", "-d"], ["-n", "c", "-F", "-d"],
                  ["-n", "c", "-d", "-F", "--", "/bin/sh"], ["-n", "c", "-s", "k=v", "init"],
                  ["-n", "c", "-p", "/p", "-c", "/dev/tty8", "-L", "/l", "-C"],
                  ["-n", "c", "--pidfile=/p", "--console-log", "/l", "--close-all-fds"],
                  ["-n", "c", "--share-net", "d", "--share-ipc=12", "--share-uts", "d",
                   "--share-pid", "d", "--", "sh"]],
    "lxc-stop": [["-n", "c"], ["-n", "c", "-k"], ["-n", "c", "-t", "5"], ["-n", "c", "-t", "-1"],
                 ["-n", "c", "-W", "--nokill"], ["-n", "c", "-k", "--nolock"], ["-n", "c", "-r"]],
    "lxc-kill": [["-n", "c", "KILL"], ["-n", "c", "-s", "TERM"], ["-n", "c"],
                 ["KILL", "-n", "c"], ["-n", "c", "--", "-9"], ["-n", "c", "--signal=9"]],
    "lxc-wait": [["-n", "c", "-s", "RUNNING"], ["-n", "c", "-s", "STOPPED", "-t", "0"],
                 ["-n", "c", "-s", "RUNNING|FROZEN", "-t", "1.5"], ["-s", "X", "-t", "inf"]],
    "lxc-cgroup": [["-n", "c", "memory.max"], ["-n", "c", "pids.max", "10"],
                   ["memory.max", "-n", "c"], ["-n", "c", "--", "k", "-1"]],
    "lxc-attach": [["-n", "c"], ["-n", "c", "--", "ls", "-l"], ["-n", "c", "--clear-env", "ls"],
                   ["-n", "c", "-v", "A=1", "--set-var", "B=2", "--keep-env", "--", "env"],
                   ["-n", "c", "ls", "--clear-env"]],
}

# command lines fast must leave to click (help, errors, what it does not model)
ODD_COMMON = [["-h"], ["--help"], ["--version"], ["-n", "c", "--version"], ["-n"],
              ["-n", "c", "-P"], ["-n", "c", "-x"], ["-n", "c", "--bogus"], ["-n", "c", "-qh"],
              ["-n", "c", "--quiet=1"], ["-n", "c", "-l", "bogus"], ["--nam", "c"],
              ["-n", "c", "-h"], ["-?"], ["-n", "c", "-?"], ["--usage"], ["-n", "c", "--usage"]]
ODD: dict[str, list[list[str]]] = {
    "lxc-state": [["-n", "c", "extra"]],
    "lxc-info": [["-n", "c", "-sp"], ["-n", "c", "-c"], ["-n", "c", "--state=1"]],
    "lxc-execute": [["-n", "c", "-u", "x", "--", "true"], ["-n", "c", "-dq", "true"],
                    ["-x", "-n", "c", "true"], ["-n", "c", "--bogus", "true"]],
    "lxc-start": [["-n", "c", "-dF"], ["-n", "c", "-x", "sh"], ["-n", "c", "--share-net"],
                  ["-n", "c", "-p"]],
    "lxc-stop": [["-n", "c", "-t", "1.5"], ["-n", "c", "-kW"], ["-n", "c", "-t"]],
    "lxc-kill": [["-n", "c", "-9"], ["-n", "c", "a", "b"]],
    "lxc-wait": [["-n", "c"], ["-n", "c", "-s", "X", "-t", "x"]],
    "lxc-cgroup": [["-n", "c"], ["-n", "c", "a", "b", "c"]],
    "lxc-attach": [["-n", "c", "--clear-env=1"], ["-n", "c", "-v"]],
}


@pytest.mark.parametrize("prog", sorted(COMMANDS))
def test_fast_parser_agrees_with_click(prog: str, capsys: pytest.CaptureFixture[str]) -> None:
    table = COMMANDS[prog][2]
    needed = {"lxc-wait": ["-s", "RUNNING"], "lxc-cgroup": ["memory.max"]}.get(prog, [])
    common_lines = [argv + needed for argv in ORDINARY["lxc-state"][:9]]
    for argv in ORDINARY.get(prog, []) + common_lines:
        fast = fastpath.parse(table, argv)
        assert fast is not None, argv
        assert typed(fast) == typed(click_params(prog, argv) or {}), argv
    for argv in ODD_COMMON + ODD.get(prog, []):
        assert fastpath.parse(table, argv) is None, argv
    # random command lines from the command's own words and odd ones
    words = ["--", "-", "", "x", "5", "-1", "0.5", "RUNNING", "DEBUG", "bogus", "=", "-x",
             "--bogus", "-nfoo", "--name=x", "-n=", "--quiet=1", "-qs", "-h", "--version", "-s5",
             "-t"]
    words += [flag for opt in table.options for flag in opt.flags]
    rng = random.Random(f"fastpath {prog}")
    handled = 0
    for _ in range(1500):
        argv = [rng.choice(words) for _ in range(rng.randint(0, 7))]
        if rng.random() < 0.5:  # the required option or argument, often
            argv = needed + argv if rng.random() < 0.5 else argv + needed
        fast = fastpath.parse(table, argv)
        if fast is None:
            continue
        handled += 1
        clicked = click_params(prog, argv)
        assert clicked is not None, argv
        assert typed(fast) == typed(clicked), argv
    assert handled > 30  # the matrix did exercise the fast parser
    capsys.readouterr()  # click's help and version output


def test_lxc_state_does_not_import_click(tmp_path: Path) -> None:
    """The point of the fast path: an ordinary invocation never imports click."""
    scripts = Path(sys.executable).parent
    lxcpath = str(tmp_path)
    for prog, *args in (["lxc-state"], ["lxc-info", "-s"], ["lxc-execute", "--", "/bin/true"]):
        script = scripts / prog
        if not script.exists():
            pytest.skip("console scripts not installed next to the interpreter")
        argv = [sys.executable, "-X", "importtime", str(script), "-P", lxcpath, "-n", "x", *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0, result  # no container x: a one-line error
        assert "import time:" in result.stderr
        assert "click" not in result.stderr, prog
