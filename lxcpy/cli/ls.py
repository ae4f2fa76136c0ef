"""lxc-ls [-1] [-f] [-F COLS] [--running|--stopped|--frozen|--active|--defined] [-g G] [REGEX]

The layouts are LXC 5's, byte for byte (reference 5.6, and lxc_ls.c):

* default: every name padded to the widest (at least 4, the width of the NAME header)
  and followed by a space, wrapped at the terminal's width; when stdout is no terminal
  (a pipe, a file) each padded name is on its own line;
* ``-1``: one bare name a line;
* ``-f``: a table, every cell padded to its column and followed by one space.
"""

from __future__ import annotations

import os
import sys

import click

from lxcpy._record import dataclass
from lxcpy.cli.common import CONTEXT, common_options, entry

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from lxcpy.container import Container

COLUMNS = ("NAME", "STATE", "PID", "RAM", "SWAP", "AUTOSTART", "GROUPS", "INTERFACE",
           "IPV4", "IPV6", "UNPRIVILEGED")
TABLE = ("NAME", "STATE", "AUTOSTART", "GROUPS", "IPV4", "IPV6", "UNPRIVILEGED")
NET_COLUMNS = {"INTERFACE", "IPV4", "IPV6"}
MB = 1024 * 1024


@dataclass
class Row:
    name: str
    state: str = "STOPPED"
    pid: int = -1
    ram: float = 0.0
    swap: float = 0.0
    autostart: bool = False
    groups: str | None = None
    interface: str | None = None
    ipv4: str | None = None
    ipv6: str | None = None
    unprivileged: bool = False

    @property
    def running(self) -> bool:
        return self.state != "STOPPED"


def candidate_names(lxcpath: str) -> list[str]:
    """Defined containers plus running ones without a stored config (``-f`` starts).

    LXC lists both (list_all_containers); a running container is one whose supervisor
    socket exists in the lxcpath's run directory — whether it answers is checked later.
    """
    from lxcpy.container import list_containers
    from lxcpy.paths import lxcpath_rundir

    names = set(list_containers(lxcpath))
    try:
        entries = os.listdir(lxcpath_rundir(lxcpath))
    except OSError:
        entries = []
    names.update(e[: -len(".sock")] for e in entries if e.endswith(".sock") and len(e) > 5)
    return sorted(names)


def parse_columns(text: str) -> list[str]:
    from lxcpy.errors import UsageError

    cols = [c.strip().upper() for c in text.split(",") if c.strip()]
    bad = [c for c in cols if c not in COLUMNS]
    if bad or not cols:
        raise UsageError(f"invalid column '{bad[0] if bad else text}' for --fancy-format "
                         f"(valid: {', '.join(COLUMNS)})")
    return cols


def _term_width() -> int:
    """LXC's ls_get_term_width: the first of stdout, stderr, stdin that is a terminal."""
    for fd in (1, 2, 0):
        try:
            return os.get_terminal_size(fd).columns
        except OSError:
            continue
    return 0


def names_output(names: list[str], one: bool) -> str:
    if one:
        return "".join(f"{n}\n" for n in names)
    width = max([4, *(len(n) for n in names)])
    termwidth = _term_width()
    out: list[str] = []
    used = 0
    # LXC's ls_print_names, including its trailing space and its wrap rule
    for n in names:
        out.append(n.ljust(width))
        used += width
        if used + width >= termwidth:
            out.append("\n")
            used = 0
        else:
            out.append(" ")
            used += 1
    if used > 0:
        out.append("\n")
    return "".join(out)


def _load_config_fields(container: Container, row: Row) -> None:
    """AUTOSTART, GROUPS, UNPRIVILEGED from the stored config (defaults if none)."""
    from lxcpy.errors import LxcError

    if not container.defined:
        return
    try:
        cfg = container.load_config()
    except LxcError as exc:
        # one broken config must not hide the others: say so and show defaults
        sys.stderr.write(f"lxc-ls: {row.name}: {exc.message}\n")
        return
    row.autostart = bool(cfg.start_auto)
    row.groups = ", ".join(cfg.groups) or None
    row.unprivileged = bool(cfg.idmaps)


def _private_netns(pid: int) -> bool:
    """True when the container's init has a network namespace of its own."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino
    except OSError:
        return False


def _interface_names(pid: int) -> list[str]:
    # /proc/PID/net/dev shows the devices of PID's network namespace; LXC sorts them
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return []
    return sorted({line.split(":", 1)[0].strip() for line in lines if ":" in line})


def _runtime_fields(container: Container, row: Row, cols: set[str]) -> None:
    from lxcpy.errors import LxcError

    if {"RAM", "SWAP"} & cols:
        try:
            stats = container.stats()
        except (LxcError, OSError):
            stats = {}
        row.ram = (stats.get("memory_bytes") or 0) / MB
        # LXC reads whole MiB of swap (integer division) and prints them with .2f
        row.swap = float((stats.get("swap_bytes") or 0) // MB)
    if NET_COLUMNS & cols and row.pid > 0 and _private_netns(row.pid):
        names = _interface_names(row.pid)
        if "INTERFACE" in cols:
            row.interface = ", ".join(names) or None
        # lo's addresses are never listed: a netns with lo alone is not asked (a netlink
        # dump from inside it costs a thread or a fork per container)
        if {"IPV4", "IPV6"} & cols and names not in ([], ["lo"]):
            from lxcpy.net import addresses_of

            try:
                # not container.get_ips(): its config, already read above, and the netns
                # check, just made, would be done again
                v4, v6 = addresses_of(row.pid)
            except (LxcError, OSError):
                v4, v6 = [], []
            row.ipv4 = ", ".join(v4) or None
            row.ipv6 = ", ".join(v6) or None


def fancy_output(rows: list[Row], cols: list[str]) -> str:
    """LXC's ls_print_table / ls_print_fancy_format."""
    w = {c: len(c) for c in COLUMNS}
    for r in rows:
        w["NAME"] = max(w["NAME"], len(r.name))
        w["STATE"] = max(w["STATE"], len(r.state))
        for col, value in (("GROUPS", r.groups), ("INTERFACE", r.interface),
                           ("IPV4", r.ipv4), ("IPV6", r.ipv6)):
            if value:
                w[col] = max(w[col], len(value))
        # LXC measures every row's numbers, the stopped rows' 0.00 included
        w["RAM"] = max(w["RAM"], len(f"{r.ram:.2f}"))
        w["SWAP"] = max(w["SWAP"], len(f"{r.swap:.2f}"))
        if r.pid != -1:
            w["PID"] = max(w["PID"], len(str(r.pid)))

    def cell(col: str, r: Row | None) -> str:
        if col in ("RAM", "SWAP"):
            if r is None:
                return f"{col:<{w[col] + 2}} "
            value = r.ram if col == "RAM" else r.swap
            return f"{value:>{w[col]}.2f}MB " if r.running else f"{'-':<{w[col]}}   "
        if r is None:
            text = col
        elif col == "NAME":
            text = r.name
        elif col == "STATE":
            text = r.state
        elif col == "PID":
            text = str(r.pid) if r.pid > 0 else "-"
        elif col == "AUTOSTART":
            text = "1" if r.autostart else "0"
        elif col == "UNPRIVILEGED":
            text = "true" if r.unprivileged else "false"
        else:
            text = {"GROUPS": r.groups, "INTERFACE": r.interface, "IPV4": r.ipv4,
                    "IPV6": r.ipv6}[col] or "-"
        return f"{text:<{w[col]}} "

    lines = ["".join(cell(c, None) for c in cols)]
    lines.extend("".join(cell(c, r) for c in cols) for r in rows)
    return "\n".join(lines) + "\n"


@click.command(context_settings=CONTEXT)
@common_options(name_required=False)
@click.option("-1", "--line", "one", is_flag=True, help="show one entry per line")
@click.option("-f", "--fancy", is_flag=True, help="use a fancy, column-based output")
@click.option("-F", "--fancy-format", "fancy_format", metavar="COLS",
              help="comma separated columns for the fancy output (implies -f): "
                   + ", ".join(COLUMNS) + " (any case)")
@click.option("--active", is_flag=True, help="list only active containers")
@click.option("--running", is_flag=True, help="list only running containers")
@click.option("--frozen", is_flag=True, help="list only frozen containers")
@click.option("--stopped", is_flag=True, help="list only stopped containers")
@click.option("--defined", is_flag=True, help="list only defined containers")
@click.option("-g", "--groups", "groups", metavar="G1,G2",
              help="comma separated list of groups a container must have to be displayed")
@click.option("--nesting", "nesting", type=click.IntRange(min=0), default=None, metavar="NUM",
              help="show nested containers up to NUM levels (lxcpy runs none: the same "
                   "list)")
@click.option("--filter", "filter_", metavar="REGEX",
              help="filter container names by regular expression")
@click.argument("pattern", required=False, metavar="[FILTER]")
def command(lxcpath: str, one: bool, fancy: bool, fancy_format: str | None, active: bool,
            running: bool, frozen: bool, stopped: bool, defined: bool, groups: str | None,
            filter_: str | None, pattern: str | None, **_: object) -> None:
    """List the containers of the lxcpath. FILTER is a regular expression searched
    in each name (like --filter)."""
    import re

    from lxcpy.container import Container
    from lxcpy.errors import UsageError

    cols = parse_columns(fancy_format) if fancy_format else list(TABLE)
    fancy = fancy or fancy_format is not None
    regex = filter_ if filter_ is not None else pattern
    try:
        rx = re.compile(regex) if regex is not None else None
    except re.error as exc:
        raise UsageError(f"invalid regular expression '{regex}': {exc}") from None
    must = [g.strip() for g in groups.split(",") if g.strip()] if groups else []

    from lxcpy.errors import LxcError

    need_state = fancy or active or running or frozen or stopped
    rows: list[Row] = []
    for name in candidate_names(lxcpath):
        if rx is not None and not rx.search(name):
            continue
        container = Container(name, lxcpath)
        # a killed supervisor's leftovers (two stats when there are none): the recovery
        # destroys an ephemeral container, which is then not listed
        if container.recover() and not container.defined:
            continue
        if defined and not container.defined:
            continue
        row = Row(name)
        # a volatile container exists only while it runs: ask even when no state is shown
        if need_state or not container.defined:
            try:
                info = container.info()  # state and init pid in one round trip
            except LxcError as exc:
                # a supervisor alive but not answering is not STOPPED: say so, list the rest
                sys.stderr.write(f"lxc-ls: {name}: {exc.message}\n")
                continue
            row.state, row.pid = str(info["state"]), int(info.get("pid", -1))
            if row.state == "STOPPED":
                row.pid = -1
                if not container.defined:
                    continue  # a stale socket of a volatile container, not a container
        # LXC: --active lists the active ones and then ignores --frozen
        if active and not row.running:
            continue
        if running and not row.running:
            continue
        if frozen and not active and row.state != "FROZEN":
            continue
        if stopped and row.state != "STOPPED":
            continue
        if fancy or must:
            _load_config_fields(container, row)
            have = {g.strip() for g in (row.groups or "").split(",")}
            if not all(g in have for g in must):
                continue
        if fancy and row.running:
            _runtime_fields(container, row, set(cols))
        rows.append(row)

    if not rows:
        return  # like LXC: nothing at all, not even a header
    text = fancy_output(rows, cols) if fancy else names_output([r.name for r in rows], one)
    sys.stdout.write(text)
    sys.stdout.flush()  # `lxc-ls | head -1`: run_guarded ends it quietly


main = entry("lxc-ls", command)
