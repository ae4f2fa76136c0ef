"""lxc-info -n NAME [-s] [-p] [-i] [-S] [-H] [-c KEY]: LXC 5's layout."""

from __future__ import annotations

from lxcpy.cli import fastpath
from lxcpy.cli.common import CONTEXT, common_options, declare, echo, entry

TYPE_CHECKING = False  # not typing's: importing typing costs ~4 ms of start-up
if TYPE_CHECKING:
    import click


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


def run(name: str, lxcpath: str, show_state: bool, show_pid: bool, show_ips: bool,
            show_stats: bool, raw: bool, config_keys: tuple[str, ...], **_: object) -> None:
    """Show a container's state, PID, addresses and resource usage."""
    from lxcpy.container import Container
    from lxcpy.errors import NotDefined

    container = Container(name, lxcpath)
    info = container.info()
    state, pid = info["state"], int(info.get("pid", -1))
    if state == "STOPPED" and not container.defined:
        raise NotDefined(f"{name} doesn't exist")
    for key in config_keys:
        values = container.get_config_item(key)
        echo(f"{key} = " + "\n".join(values))
    if config_keys and not (show_state or show_pid or show_ips or show_stats):
        return
    everything = not (show_state or show_pid or show_ips or show_stats)
    out: list[str] = []
    running = state != "STOPPED"
    if everything:
        out.append(line("Name", name))
    if everything or show_state:
        out.append(line("State", state))
    if running and (everything or show_pid):
        out.append(str(pid) if raw and show_pid and not everything else line("PID", pid))
    if running and (everything or show_ips):
        v4, v6 = container.get_ips()
        out.extend(line("IP", ip) for ip in v4 + v6)
    if running and (everything or show_stats):
        try:
            out.extend(stats_lines(container.stats(), raw))
        except Exception:  # noqa: BLE001 - usage lines are best effort, like LXC's
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
