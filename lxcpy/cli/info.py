"""lxc-info -n NAME [-s] [-p] [-i] [-S] [-H] [-c KEY]: LXC 5's layout."""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, echo, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click

    from lxcpy.container import Container


def line(label: str, value: object) -> str:
    return f"{label + ':':<16}{value}"


def _human_size(n: int) -> str:
    value = float(n)
    unit = "bytes"
    for next_unit in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value /= 1024
        unit = next_unit
    return f"{n} bytes" if unit == "bytes" else f"{value:.2f} {unit}"


def stats_lines(stats: dict[str, int | None], raw: bool) -> list[str]:
    out = []
    cpu = stats.get("cpu_ns")
    if cpu is not None:
        out.append(line("CPU use", cpu if raw else f"{cpu / 1e9:.2f} seconds"))
    for label, key in (("BlkIO use", "blkio_bytes"), ("Memory use", "memory_bytes"),
                       ("KMem use", "kmem_bytes"), ("Swap use", "swap_bytes")):
        value = stats.get(key)
        if value is not None:
            out.append(line(label, value if raw else _human_size(int(value))))
    return out


def net_counters() -> dict[str, tuple[int, int]]:
    """interface -> (rx_bytes, tx_bytes) of this network namespace.

    The counters of /sys/class/net/IF/statistics, read from /proc/self/net/dev: /sys shows
    the namespace of whoever mounted it, /proc/self/net always our own (lxc-info run in a
    network namespace of its own, as the tests do, would read 0 from the host's /sys).
    """
    out: dict[str, tuple[int, int]] = {}
    try:
        with open("/proc/self/net/dev") as f:
            lines = f.read().splitlines()[2:]
    except OSError:
        return out
    for text in lines:
        ifname, _, fields = text.partition(":")
        values = fields.split()
        if len(values) >= 9:
            out[ifname.strip()] = (int(values[0]), int(values[8]))
    return out


def link_lines(links: list[str], raw: bool) -> list[str]:
    """LXC's Link block for each host-side interface: TX and RX from the container's side,
    so TX bytes are what the host end received (0 when unreadable, as LXC)."""
    counters = net_counters() if links else {}
    out = []
    for ifname in links:
        tx, rx = counters.get(ifname, (0, 0))
        out.append(line("Link", ifname))
        for label, value in ((" TX bytes", tx), (" RX bytes", rx), (" Total bytes", tx + rx)):
            out.append(line(label, value if raw else _human_size(value)))
    return out


def host_links(container: Container) -> list[str]:
    """Host-side names of the running container's interfaces, in config order: a veth's
    host end, else the link (lower) device, as lxc-info names them."""
    from lxcpy.runtime.resources import Resources

    res = Resources.load(container.paths)
    out = []
    for rec in sorted(res.net if res else [], key=lambda r: r.get("index", 0)):
        ifname = rec.get("host") if rec.get("type") == "veth" else rec.get("link")
        if ifname and not rec.get("undone"):
            out.append(str(ifname))
    return out


def run(name: str, lxcpath: str, show_state: bool, show_pid: bool, show_ips: bool,
            show_stats: bool, raw: bool, config_keys: tuple[str, ...],
            rcfile: str | None = None, **_: object) -> None:
    """Show a container's state, PID, addresses and resource usage."""
    from lxcpy.cli.common import container_for
    from lxcpy.errors import NotDefined

    container = container_for(name, lxcpath, rcfile)  # -c reads --rcfile's FILE
    info = container.info()
    state, pid = info["state"], int(info.get("pid", -1))
    if state == "STOPPED" and not container.defined:
        raise NotDefined(f"{name} doesn't exist")
    if config_keys:
        from lxcpy.config.parser import get_item
        from lxcpy.errors import UsageError

        cfg = container.load_config()
    for key in config_keys:
        try:  # the model's value in effect (a replaced or cleared line is not)
            value = get_item(cfg, key)
        except KeyError:
            raise UsageError(f"unknown config key '{key}'") from None
        # C LXC 5.0.2 (lxc_info.c, tried): "KEY = VALUE", "KEY =" for an empty value, a
        # list key's values each ending in a newline (so a blank line ends it); -H with a
        # single -c prints the bare value
        echo(value if raw and len(config_keys) == 1 else
             f"{key} = {value}" if value else f"{key} =")
    filters = sum((show_state, show_pid, show_ips, show_stats))
    if config_keys and not filters:
        return
    everything = not filters
    # LXC (lxc_info.c print_info_msg_*): -H with exactly one of -s/-p/-i prints the bare
    # value, for `[ "$(lxc-info -n X -sH)" = RUNNING ]`; statistics keep their labels
    bare = raw and filters == 1

    def field(label: str, value: object) -> str:
        return str(value) if bare else line(label, value)

    out: list[str] = []
    running = state != "STOPPED"
    if everything:
        out.append(line("Name", name))
    if everything or show_state:
        out.append(field("State", state))
    if running and (everything or show_pid):
        out.append(field("PID", pid))
    if running and (everything or show_ips):
        v4, v6 = container.get_ips()
        out.extend(field("IP", ip) for ip in v4 + v6)
    if running and (everything or show_stats):
        try:
            out.extend(stats_lines(container.stats(), raw))
        except Exception:  # noqa: BLE001 - usage lines are best effort, like LXC's
            pass
        try:
            out.extend(link_lines(host_links(container), raw))
        except Exception:  # noqa: BLE001 - as the usage lines
            pass
    if out:
        echo("\n".join(out))


def build() -> click.Command:
    import click

    return declare(
        run,
        click.command("command", context_settings=CONTEXT),
        common_options(),
        click.option("-s", "--state", "show_state", is_flag=True, help="show the state"),
        click.option("-p", "--pid", "show_pid", is_flag=True, help="show the init PID"),
        click.option("-i", "--ips", "show_ips", is_flag=True, help="show the IP addresses"),
        click.option("-S", "--stats", "show_stats", is_flag=True,
                     help="show usage statistics"),
        click.option("-H", "--no-humanize", "raw", is_flag=True,
                     help="raw numbers, no labels"),
        click.option("-c", "--config", "config_keys", multiple=True,
                     help="show a config value"),
    )


# mirrors build(); tests/unit/test_fastpath.py keeps them equal
FAST = fastpath.table(
    fastpath.flag(("-s", "--state"), "show_state"),
    fastpath.flag(("-p", "--pid"), "show_pid"),
    fastpath.flag(("-i", "--ips"), "show_ips"),
    fastpath.flag(("-S", "--stats"), "show_stats"),
    fastpath.flag(("-H", "--no-humanize"), "raw"),
    fastpath.Opt(("-c", "--config"), "config_keys", multiple=True, default=()),
)
main = entry("lxc-info", build, FAST, run)
