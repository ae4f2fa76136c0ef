"""Read ``lxc.*`` config text into a ``ContainerConfig``, through the key table.

Line rules follow LXC: blank lines and ``#`` comments (after leading blanks) are skipped,
``key = value`` is split at the first ``=``, both sides are trimmed, and a value wrapped in
matching quotes loses them. We are stricter than LXC in one place: a line that is neither a
comment nor an ``lxc.`` key is an error here (LXC ignores it silently).

Every error is a ``ConfigError`` naming file, line and key; every stored value keeps its
``Origin``.
"""

from __future__ import annotations

import os
import stat

from lxcpy.config import keys
from lxcpy.config.model import ContainerConfig, Entry, NetConfig, Origin
from lxcpy.errors import ConfigError

TYPE_CHECKING = False  # no typing (nor collections, for Mapping) at run time
if TYPE_CHECKING:
    from collections.abc import Mapping

COMMAND_LINE = "<command line>"
_BLANKS = " \t"
_TRAILING = " \t\r\n\0"


def _unquote(value: str) -> str:
    if len(value) > 1 and value[0] in "'\"" and value[-1] == value[0]:
        return value[1:-1]
    return value


def _read(path: str) -> str | None:
    """The text of a regular file, or None for a directory. OSError if unreadable."""
    # O_NONBLOCK: a fifo given as a config must fail, not hang the command
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            return None
        if not stat.S_ISREG(mode):
            raise OSError(0, "not a regular file")
        chunks = []
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", "surrogateescape")


def _why(exc: OSError | ValueError) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or exc.__class__.__name__


class _Parser:
    """The state of one parse: the config being filled and the 2008 network counter."""

    def __init__(self, cfg: ContainerConfig, randomize: bool,
                 environ: Mapping[str, str] | None) -> None:
        self.cfg = cfg
        self.randomize = randomize
        self.environ = os.environ if environ is None else environ
        # every 2008 `lxc.network.type` line opens interface number <count so far>,
        # the same numbering lxc-update-config gives them
        self.legacy_nets = sum(1 for e in cfg.entries if e.key == "lxc.network.type")

    # ---- lines ---------------------------------------------------------------------------
    def feed(self, text: str, file: str, base_dir: str, stack: tuple[str, ...],
             top: bool = False) -> None:
        """``top``: the file itself (not an include): its lines are kept as written."""
        lines = self.cfg.lines
        for number, raw in enumerate(text.split("\n"), 1):
            line = raw.lstrip(_BLANKS)
            if not line.strip():
                continue  # LXC drops blank lines from the config it keeps
            if line.startswith("#"):
                if top:
                    lines.append((raw.rstrip("\r"), None, ""))
                continue
            if not line.startswith("lxc."):
                raise ConfigError(f"invalid config line '{line.rstrip(_TRAILING)}'", file, number)
            key, eq, value = line.partition("=")
            if not eq:
                raise ConfigError(f"invalid config line '{line.rstrip(_TRAILING)}': "
                                  "no '=' after the key", file, number)
            written = _unquote(value.strip(_TRAILING))
            entry = self.set(key.rstrip(_TRAILING), written, Origin(file, number), base_dir,
                             stack)
            if top:  # to_text rewrites the line only if the model changed its value
                lines.append((raw.rstrip("\r"), entry, written))

    def set(self, key: str, value: str, origin: Origin, base_dir: str,
            stack: tuple[str, ...] = ()) -> Entry:
        """Apply one ``key = value`` (value already trimmed and unquoted).

        LXC's rule for repeats: a list key's line adds, any other key's line replaces the
        earlier ones, and an empty value clears the key (a prefix: every key under it).
        ``cfg.entries`` keeps every line; keys.in_effect replays this rule over them."""
        file, line = origin.file, origin.line
        try:
            match = keys.lookup(key)
        except keys.Invalid as exc:
            raise ConfigError(str(exc), file, line, key=key) from None
        if match is None:
            raise ConfigError(f"unknown key '{key}'", file, line)
        row, canonical, index = match.row, match.canonical, match.index
        if match.sub is not None and index is None:  # 2008: lxc.network.<sub>
            if match.sub == "type":
                self.legacy_nets += 1
            if not self.legacy_nets:
                raise ConfigError("no network yet: lxc.network.type must come first",
                                  file, line, key=key)
            index = self.legacy_nets - 1
            canonical = f"lxc.net.{index}.{match.sub}"
        assert canonical is not None
        entry = Entry(key, canonical, value, origin)
        cfg = self.cfg
        cfg.entries.append(entry)
        if canonical == "lxc.include":
            if value:
                self.include(value, origin, base_dir, stack)
            return entry

        net = None
        if canonical.startswith("lxc.net"):
            cfg.network_keys_present = True
            if index is not None:
                net = self.net(index, origin)
        ctx = keys.Ctx(cfg, entry, base_dir, match.suffix, net, self.environ, self.randomize,
                       row.attr)
        if value == "":  # LXC: an empty value clears the key (or every key under a prefix)
            if row.clear is not None:
                row.clear(ctx)
            prefix = match.bare or canonical in ("lxc.hook", "lxc.net")
            self.forget(canonical, prefix)
            if net is not None and match.sub is not None:
                net.origins.pop(match.sub, None)
            return entry
        try:
            if match.bare:
                raise keys.Invalid(f"takes no value: an empty value clears every {canonical}.* "
                                   "key")
            parsed = row.parse(value, ctx)
        except keys.Invalid as exc:
            raise ConfigError(str(exc), file, line, key=key) from None
        if not row.repeat:
            self.forget(canonical)  # replaced: an older line no longer needs a warning
        if row.store is not None:
            row.store(ctx, parsed)
        if not row.acts_on(value):
            cfg.not_acted_on.append(entry)
        if net is not None and match.sub is not None:
            net.origins[match.sub] = origin
        return entry

    def forget(self, canonical: str, prefix: bool = False) -> None:
        """Drop not-acted-on records of a key that was cleared or replaced."""
        below = canonical + "."
        self.cfg.not_acted_on[:] = [
            e for e in self.cfg.not_acted_on
            if e.canonical != canonical and not (prefix and e.canonical.startswith(below))]

    def net(self, index: int, origin: Origin) -> NetConfig:
        for net in self.cfg.networks:
            if net.index == index:
                return net
        net = NetConfig(index=index, origin=origin)
        self.cfg.networks.append(net)
        return net

    # ---- lxc.include -----------------------------------------------------------------------
    def include(self, value: str, origin: Origin, base_dir: str,
                stack: tuple[str, ...]) -> None:
        path = os.path.join(base_dir, value)  # relative includes: next to the including file
        try:
            real = os.path.realpath(path)
            if real in stack:
                chain = " -> ".join([*stack[stack.index(real):], real])
                raise ConfigError(f"include loop: {chain}", origin.file, origin.line,
                                  key="lxc.include")
            text = _read(path)
            if text is None:  # a directory: its *.conf files, in name order
                names = sorted(n for n in os.listdir(path) if n.endswith(".conf") and
                               len(n) > len(".conf"))
                for name in names:
                    self.include(os.path.join(path, name), origin, base_dir, stack)
                return
        except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
            raise ConfigError(f"cannot read '{path}': {_why(exc)}", origin.file, origin.line,
                              key="lxc.include") from None
        self.feed(text, path, os.path.dirname(real), (*stack, real))

    # ---- whole-config checks -----------------------------------------------------------------
    def finish(self) -> ContainerConfig:
        cfg = self.cfg
        cfg.networks.sort(key=lambda n: n.index)
        for net in cfg.networks:
            prefix = f"lxc.net.{net.index}."
            if net.type is None:
                origin = net.origin or Origin(COMMAND_LINE, 0)
                raise ConfigError(f"network {net.index} has no type: add {prefix}type",
                                  origin.file, origin.line, key=self.written(origin, prefix))
            for sub, origin in net.origins.items():
                only = keys.NET_KEYS[sub].only
                if only and net.type not in only:
                    raise ConfigError(f"only valid for a {' or '.join(only)} interface, "
                                      f"not {net.type}", origin.file, origin.line,
                                      key=self.written(origin, prefix + sub))
        if cfg.cap_drop and cfg.cap_keep:
            last = [e for e in cfg.entries if e.canonical in ("lxc.cap.drop", "lxc.cap.keep")][-1]
            raise ConfigError("lxc.cap.drop and lxc.cap.keep cannot both be set",
                              last.origin.file, last.origin.line, key=last.key)
        return cfg

    def written(self, origin: Origin, canonical: str) -> str:
        """The key as the user wrote it on that line (2008 spellings included)."""
        for entry in self.cfg.entries:
            if entry.origin == origin and entry.canonical.startswith(canonical):
                return entry.key
        return canonical.rstrip(".")


def parse_text(text: str, filename: str = "<string>", base_dir: str | None = None, *,
               randomize_hwaddr: bool = False,
               environ: Mapping[str, str] | None = None) -> ContainerConfig:
    """Parse config text; ``filename`` names it in errors and origins.

    ``base_dir`` anchors relative paths (default: the file's directory, or the cwd for a
    ``<name>``). ``randomize_hwaddr``: write the random digits chosen for ``xx`` hwaddr
    templates back into ``cfg.entries`` too (the model always gets them). ``environ``:
    where a bare ``lxc.environment = NAME`` looks up its value (default os.environ).
    """
    path = None if filename.startswith("<") else filename
    if base_dir is None:
        base_dir = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    base_dir = os.path.abspath(base_dir)
    cfg = ContainerConfig(path=path)
    parser = _Parser(cfg, randomize_hwaddr, environ)
    stack = (os.path.realpath(path),) if path else ()
    parser.feed(text, filename, base_dir, stack, top=True)
    return parser.finish()


def parse_file(path: str, *, randomize_hwaddr: bool = False,
               environ: Mapping[str, str] | None = None) -> ContainerConfig:
    """Parse the config file at ``path`` (and what it includes)."""
    try:
        text = _read(path)
        if text is None:
            raise IsADirectoryError(21, "is a directory")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read config file: {_why(exc)}", file=path) from None
    return parse_text(text, path, randomize_hwaddr=randomize_hwaddr, environ=environ)


def apply_overrides(cfg: ContainerConfig, items: list[str], *,
                    environ: Mapping[str, str] | None = None) -> ContainerConfig:
    """Apply ``-s KEY=VALUE`` options after the file, like more lines at its end.

    ``cfg`` is updated in place and returned. Relative paths resolve against the cwd.
    """
    parser = _Parser(cfg, False, environ)
    origin = Origin(COMMAND_LINE, 0)
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip(_TRAILING)
        if not eq or not key.startswith("lxc."):
            raise ConfigError(f"invalid option '{item}': expected lxc.KEY=VALUE",
                              COMMAND_LINE, 0)
        parser.set(key, _unquote(value.strip(_TRAILING)), origin, os.getcwd())
    return parser.finish()


def format_entries(entries: list[Entry], canonical: bool = False) -> str:
    """``key = value`` lines (as written, or in today's spelling), one per entry."""
    lines = []
    for entry in entries:
        key = entry.canonical if canonical else entry.key
        lines.append(f"{key} = {entry.value}" if entry.value else f"{key} =")
    return "".join(line + "\n" for line in lines)


# ---- the model as LXC's API sees it: set / get / clear one item, write the config back ----
API = "<api>"  # the origin of a value set through set_item


def _net_index(key: str) -> int | None:
    """N for ``lxc.net.N`` / ``lxc.network.N`` (a whole interface), else None."""
    for head in ("lxc.net.", "lxc.network."):
        rest = key[len(head):] if key.startswith(head) else ""
        if rest and rest.isascii() and rest.isdigit():
            return int(rest)
    return None


def _row(key: str) -> keys.Match:
    try:
        match = keys.lookup(key)
    except keys.Invalid:
        match = None
    if match is None:
        raise KeyError(key)
    return match


def set_item(cfg: ContainerConfig, key: str, value: str, *,
             environ: Mapping[str, str] | None = None) -> None:
    """LXC's set_config_item: apply ``key = value`` to the model and to its lines.

    A non-list key replaces its earlier lines; an empty value clears. KeyError for an
    unknown key, ConfigError for a bad value (the model is then unchanged)."""
    if value == "":
        clear_item(cfg, key)
        return
    match = _row(key)
    origin = Origin(cfg.path or API, 0)
    if match.row.only and match.index is not None:  # checked at once, not at the next load
        net = next((n for n in cfg.networks if n.index == match.index), None)
        if net is not None and net.type is not None and net.type not in match.row.only:
            raise ConfigError(f"only valid for a {' or '.join(match.row.only)} interface, "
                              f"not {net.type}", origin.file, origin.line, key=key)
    base_dir = os.path.dirname(cfg.path) if cfg.path else os.getcwd()
    parser = _Parser(cfg, True, environ)  # hwaddr xx digits: filled once, and written so
    had = len(cfg.entries)
    try:
        entry = parser.set(key, value.strip(_TRAILING), origin, base_dir)
    except ConfigError:
        del cfg.entries[had:]  # a refused value leaves no line behind
        raise
    if not match.row.repeat and entry.canonical != "lxc.include":
        _drop_lines(cfg, entry.canonical)
    cfg.lines.append((f"{entry.key} = {entry.value}", entry, entry.value))


def clear_item(cfg: ContainerConfig, key: str) -> None:
    """LXC's clear_config_item: the key (a prefix or ``lxc.net.N``: everything under it)
    is gone from the model and from its lines."""
    index = _net_index(key)
    if index is not None:
        canonical = f"lxc.net.{index}"
        cfg.networks[:] = [n for n in cfg.networks if n.index != index]
        cfg.not_acted_on[:] = [e for e in cfg.not_acted_on
                               if not e.canonical.startswith(canonical + ".")]
        cfg.entries[:] = [e for e in cfg.entries if not e.canonical.startswith(canonical + ".")]
        _drop_lines(cfg, canonical, prefix=True)
        return
    match = _row(key)
    base_dir = os.path.dirname(cfg.path) if cfg.path else os.getcwd()
    entry = _Parser(cfg, False, None).set(key, "", Origin(cfg.path or API, 0), base_dir)
    prefix = match.bare or entry.canonical in ("lxc.hook", "lxc.net")
    _drop_lines(cfg, entry.canonical, prefix)


def _drop_lines(cfg: ContainerConfig, canonical: str, prefix: bool = False) -> None:
    below = canonical + "."
    cfg.lines[:] = [line for line in cfg.lines if line[1] is None or (
        line[1].canonical != canonical and not (prefix and line[1].canonical.startswith(below)))]


def get_item(cfg: ContainerConfig, key: str) -> str:
    """LXC's get_config_item: the value in effect; a list key's values (and a prefix's
    ``key = value`` lines) each end with a newline; "" when unset. KeyError if unknown."""
    index = _net_index(key)
    if index is not None:  # LXC: the interface's set keys, like get_keys
        return "".join(k + "\n" for k in get_keys(cfg, key))
    match = _row(key)
    canonical = match.canonical if match.canonical is not None else key
    return match.row.get(cfg, canonical, match)


def get_keys(cfg: ContainerConfig, key: str | None = None) -> list[str]:
    """LXC's get_keys: the keys one can set (under ``key``); for ``lxc.net.N`` the
    interface's keys its type allows, as ``lxc.net.N.<sub>`` names them (python3-lxc's
    network objects use the last part)."""
    index = _net_index(key or "")
    if index is not None:
        net = next((n for n in cfg.networks if n.index == index), None)
        kind = net.type if net is not None else None
        return [sub for sub, row in keys.NET_KEYS.items()
                if not row.only or kind in row.only]
    names = [row.name for row in keys.KEYS]
    names += [f"lxc.net.<N>.{sub}" for sub in keys.NET_KEYS]
    if key:
        names = [n for n in names if n.startswith(key)]
    return names


def to_text(cfg: ContainerConfig) -> str:
    """The config as a file: the lines as written (comments and order kept, includes not
    expanded), with what set_item/clear_item changed. Loads back to the same model."""
    out = []
    for raw, entry, value in cfg.lines:
        if entry is not None and entry.value != value:  # e.g. hwaddr xx digits filled
            raw = f"{entry.key} = {entry.value}"
        out.append(raw + "\n")
    return "".join(out)


def new_config(path: str | None = None) -> ContainerConfig:
    """An empty model (of the file ``path``, which need not exist yet)."""
    return ContainerConfig(path=path)


__all__ = ["apply_overrides", "clear_item", "format_entries", "get_item", "get_keys",
           "new_config", "parse_file", "parse_text", "set_item", "to_text"]
