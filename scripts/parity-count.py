#!/usr/bin/env python3
"""Issue 16's counts, measured through the commands (never read from lxcpy's code).

    python3 scripts/parity-count.py [--bindir DIR] [--verbose] [--json FILE]

1. Options: every option each LXC 5 tool documents in its man page (Debian's ``lxc``
   package: /usr/share/man/man1/lxc-*.1.gz, the OPTIONS and COMMON OPTIONS sections), for
   the tools lxcpy installs, tried one spelling at a time (short and long separately)
   through lxcpy's installed command. The command runs against a throwaway lxcpath with an
   invalid container name (``bad/name``) or no command to run, so it stops right after
   parsing its options and does nothing. An option is *rejected* when the command says so
   (unknown option, missing or unexpected value, taken for the command to run); any other
   outcome, including a refusal of the name or value, means the parser accepted it.
2. Config keys: the keys LXC's lxc.container.conf(5) documents (placeholders filled in:
   ``[i]`` -> 0, ...), kept when C LXC's own ``lxc-info -c KEY`` knows them, then asked of
   lxcpy's ``lxc-info -c KEY`` (exit 0: known).
3. System keys: C LXC's ``lxc-config -l`` items, asked of lxcpy's ``lxc-config ITEM``.
4. lxc-checkconfig: the ``Label: value`` lines of C LXC's lxc-checkconfig that lxcpy's
   prints too, and how many with the same value on this host.
5. Python: python3-lxc's names (lxc/__init__.py and lxc.c's method, getset and constant
   tables, github lxc/python3-lxc 8b2b78de) present in ``import lxcpy as lxc``.

Runs as root inside a network namespace of its own (it re-executes itself under
``unshare --net`` when it is not in one); everything it makes is in a temporary directory
removed at the end.
"""

from __future__ import annotations

import argparse
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

BAD = "bad/name"  # every tool refuses it after parsing its options: nothing is done
MAN1 = "/usr/share/man/man1"
MAN5 = "/usr/share/man/man5/lxc.container.conf.5.gz"
C_BIN = "/usr/bin"

# what a command prints when its parser refuses an option (click, getopt, argparse)
REJECTED = re.compile(r"no such option|not recognized|unrecognized (option|argument)|"
                      r"requires an argument|requires argument|does not take a value|"
                      r"must not have an argument|got unexpected extra argument|"
                      r"failed to exec|invalid option", re.I)

# options whose man page entry omits the value LXC's parser takes
TAKES_VALUE = {("lxc-snapshot", "-N"), ("lxc-snapshot", "--newname"),
               ("lxc-update-config", "-c"), ("lxc-update-config", "--config")}

# a value for an option that takes one, by (tool, spelling) or spelling; default "1"
SAMPLES = {
    "-P": "{T}", "--lxcpath": "{T}", "-n": BAD, "--name": BAD, "-o": "{T}/log",
    "--logfile": "{T}/log", "-l": "INFO", "--logpriority": "INFO", "--rcfile": "{T}/none",
    ("lxc-wait", "-s"): "RUNNING", ("lxc-wait", "--state"): "RUNNING",
    ("lxc-wait", "-t"): "0", ("lxc-wait", "--timeout"): "0",
    ("lxc-top", "-s"): "n", ("lxc-top", "--sort"): "n",
    ("lxc-attach", "-s"): "UTSNAME", ("lxc-attach", "--namespaces"): "UTSNAME",
    ("lxc-attach", "-e"): "CGROUP", ("lxc-attach", "--elevated-privileges"): "CGROUP",
    ("lxc-attach", "-a"): "x86_64", ("lxc-attach", "--arch"): "x86_64",
    ("lxc-attach", "-v"): "A=1", ("lxc-attach", "--set-var"): "A=1",
    ("lxc-attach", "--keep-var"): "A",
    ("lxc-execute", "-s"): "lxc.tty.max=1", ("lxc-execute", "--define"): "lxc.tty.max=1",
    ("lxc-start", "-s"): "lxc.tty.max=1", ("lxc-start", "--define"): "lxc.tty.max=1",
    ("lxc-create", "-t"): "none", ("lxc-create", "--template"): "none",
    ("lxc-create", "-B"): "dir", ("lxc-create", "--bdev"): "dir",
    ("lxc-copy", "-B"): "dir", ("lxc-copy", "--backingstorage"): "dir",
    ("lxc-copy", "-m"): "bind=/tmp", ("lxc-copy", "--mount"): "bind=/tmp",
    ("lxc-copy", "-L"): "1G", ("lxc-copy", "--fssize"): "1G",
    ("lxc-console", "-e"): "a", ("lxc-console", "--escape"): "a",
    ("lxc-info", "-c"): "lxc.uts.name", ("lxc-info", "--config"): "lxc.uts.name",
    ("lxc-ls", "-F"): "NAME", ("lxc-ls", "--fancy-format"): "NAME",
    ("lxc-autostart", "-g"): "onboot", ("lxc-autostart", "--groups"): "onboot",
    ("lxc-unshare", "-s"): "UTSNAME", ("lxc-unshare", "--namespaces"): "UTSNAME",
    ("lxc-unshare", "-u"): "root", ("lxc-unshare", "--user"): "root",
    ("lxc-unshare", "-i"): "nosuchif0", ("lxc-unshare", "--ifname"): "nosuchif0",
    ("lxc-usernsexec", "-m"): "b:0:100000:1",
}

# the rest of each tool's command line, after the option tried (``{T}``: the lxcpath)
NAMED_TAIL = {"lxc-attach": ["--", "true"], "lxc-execute": ["--", "true"],
              "lxc-start": ["--", "true"], "lxc-cgroup": ["memory.usage_in_bytes"],
              "lxc-device": ["add", "nosuchdev0"]}
UNNAMED = {  # tools without a container name: how each is stopped right after parsing
    "lxc-ls": ["-P", "{T}"], "lxc-top": ["-P", "{T}", "--batch"],
    "lxc-autostart": ["-P", "{T}"], "lxc-config": [], "lxc-checkconfig": [],
    "lxc-monitor": ["-P", "{T}"], "lxc-unshare": [],  # no command: refused after parsing
    "lxc-usernsexec": ["--", "/nonexistent-parity"], "lxc-update-config": [],
}
RUNS_ON = {"lxc-top", "lxc-monitor"}  # refreshes / listens until stopped: 2 s is enough

# python3-lxc's names (github lxc/python3-lxc at 8b2b78de: lxc.c's Container_methods and
# Container_getseters, lxc/__init__.py's Container, module functions and constants)
PY_CONTAINER = (
    "add_device_node", "attach", "attach_interface", "attach_wait", "clear_config",
    "clear_config_item", "clone", "console", "console_getfd", "create", "destroy",
    "detach_interface", "freeze", "get_cgroup_item", "get_config_item", "get_config_path",
    "get_interfaces", "get_ips", "get_keys", "get_running_config_item", "load_config",
    "reboot", "remove_device_node", "rename", "save_config", "set_cgroup_item",
    "set_config_item", "set_config_path", "shutdown", "snapshot", "snapshot_destroy",
    "snapshot_list", "snapshot_restore", "start", "stop", "unfreeze", "wait",
    "config_file_name", "controllable", "defined", "init_pid", "name", "running", "state",
    "add_device_net", "append_config_item", "network")
PY_FUNCTIONS = ("list_containers", "attach_run_command", "attach_run_shell",
                "arch_to_personality", "get_global_config_item")
PY_VALUES = ("default_config_path", "version", "Container")
PY_CONSTANTS = (
    "CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWUSER",
    "CLONE_NEWUTS", "LXC_ATTACH_CLEAR_ENV", "LXC_ATTACH_KEEP_ENV", "LXC_ATTACH_DEFAULT",
    "LXC_ATTACH_DROP_CAPABILITIES", "LXC_ATTACH_LSM_EXEC", "LXC_ATTACH_LSM_NOW",
    "LXC_ATTACH_MOVE_TO_CGROUP", "LXC_ATTACH_REMOUNT_PROC_SYS", "LXC_ATTACH_SET_PERSONALITY",
    "LXC_CLONE_KEEPBDEVTYPE", "LXC_CLONE_KEEPMACADDR", "LXC_CLONE_KEEPNAME",
    "LXC_CLONE_MAYBE_SNAPSHOT", "LXC_CLONE_SNAPSHOT", "LXC_CREATE_QUIET")

# their parameters, in order (lxc.c's kwlists, lxc/__init__.py's definitions): a caller
# passing them by keyword or position gets the same meaning
PY_SIGNATURES = {
    "add_device_node": ["src_path", "dest_path"], "attach": ["run", "payload"],
    "attach_interface": ["src_ifname", "dst_ifname"], "attach_wait": ["run", "payload"],
    "clear_config": [], "clear_config_item": ["key"],
    "clone": ["newname", "config_path", "flags", "bdevtype", "bdevdata", "newsize",
              "hookargs"],
    "console": ["ttynum", "stdinfd", "stdoutfd", "stderrfd", "escape"],
    "console_getfd": ["ttynum"], "create": ["template", "flags", "args", "bdevtype", "fssize"],
    "destroy": [], "detach_interface": ["ifname"], "freeze": [], "get_cgroup_item": ["key"],
    "get_config_item": ["key"], "get_config_path": [], "get_interfaces": [],
    "get_ips": ["interface", "family", "scope", "timeout"], "get_keys": ["key"],
    "get_running_config_item": ["key"], "load_config": ["path"], "reboot": [],
    "remove_device_node": ["src_path", "dest_path"], "rename": ["new_name"],
    "save_config": ["path"], "set_cgroup_item": ["key", "value"],
    "set_config_item": ["key", "value"], "set_config_path": ["path"], "shutdown": ["timeout"],
    "snapshot": ["comment_path"], "snapshot_destroy": ["name"], "snapshot_list": [],
    "snapshot_restore": ["name", "newname"],
    "start": ["useinit", "daemonize", "close_fds", "cmd"], "stop": [], "unfreeze": [],
    "wait": ["state", "timeout"], "add_device_net": ["name", "destname"],
    "append_config_item": ["key", "value"],
    "lxc.list_containers": ["active", "defined", "as_object", "config_path"],
    "lxc.attach_run_command": ["cmd"], "lxc.attach_run_shell": [],
    "lxc.arch_to_personality": ["arch"],
}

# lxc.container.conf(5)'s placeholders, as a key LXC's parser takes
PLACEHOLDERS = {
    "lxc.prlimit.[limit": "lxc.prlimit.nofile", "lxc.proc.[proc": "lxc.proc.oom_score_adj",
    "lxc.sysctl.[kernel": "lxc.sysctl.net.ipv4.ip_forward",
    "lxc.namespace.share.[namespace": "lxc.namespace.share.net",
    "lxc.cgroup.[controller": "lxc.cgroup.memory.limit_in_bytes",
    "lxc.cgroup2.[controller": "lxc.cgroup2.memory.max",
}


def troff_text(line: str) -> str:
    """A man page line without its font and escape markup."""
    line = line.replace(r"\*(T<", "").replace(r"\*(T>", "")
    line = re.sub(r"\\f[BIRP]", "", line)
    return line.replace("\\-", "-").replace("\\ ", " ").strip()


def man_options(tool: str) -> list[tuple[str, bool, bool]]:
    """(spelling, takes a value, common option) of every option ``tool``'s man page lists."""
    path = os.path.join(MAN1, f"{tool}.1.gz")
    if not os.path.exists(path):
        return []
    lines = gzip.open(path, "rt").read().splitlines()
    section = ""
    out: list[tuple[str, bool, bool]] = []
    for i, line in enumerate(lines):
        if line.startswith(".SH"):
            section = troff_text(line[3:]).strip('"')
        if not (line.startswith(".TP") and "OPTIONS" in section and i + 1 < len(lines)):
            continue
        entry = troff_text(lines[i + 1])
        spellings, value = [], False  # "-p, --pidfile FILE": both spellings take FILE
        for part in re.split(r",\s*", entry):
            words = part.split()
            if not words or not words[0].startswith("-") or words[0] == "--":
                continue
            spelling, _, inline = words[0].partition("=")
            if spelling == "--g":  # lxc-attach(1)/lxc-execute(1) misspell -g
                spelling = "-g"
            value = value or bool(inline) or len(words) > 1 or (tool, spelling) in TAKES_VALUE
            if re.fullmatch(r"-[A-Za-z0-9?]|--[a-z][a-z0-9-]*", spelling):
                spellings.append(spelling)
        out += [(spelling, value, section.startswith("COMMON")) for spelling in spellings]
    # a spelling listed in OPTIONS and again in COMMON OPTIONS (lxc-attach's --rcfile) is
    # the tool's own; one listed with its value in either takes one
    seen: dict[str, tuple[str, bool, bool]] = {}
    for spelling, value, common in out:
        old = seen.get(spelling)
        if old is not None:
            value, common = value or old[1], common and old[2]
        seen[spelling] = (spelling, value, common)
    return list(seen.values())


def sample(tool: str, spelling: str, tmp: str) -> str:
    value = SAMPLES.get((tool, spelling), SAMPLES.get(spelling, "1"))
    return value.replace("{T}", tmp)


def command_line(tool: str, spelling: str, value: bool, tmp: str) -> list[str]:
    option = [spelling]
    if value:  # attached, so a parser that takes no value here cannot swallow the next word
        v = sample(tool, spelling, tmp)
        option = [f"{spelling}={v}"] if spelling.startswith("--") else [spelling + v]
    if tool in UNNAMED:
        base = [w.replace("{T}", tmp) for w in UNNAMED[tool]]
        if tool == "lxc-update-config" and spelling not in ("-c", "--config"):
            base = ["-c", f"{tmp}/none"]
        if tool == "lxc-monitor" and spelling in ("-P", "--lxcpath"):
            base = []
        if tool == "lxc-usernsexec":
            return [tool, *option, *base]
        return [tool, *base, *option]
    base = [] if spelling in ("-P", "--lxcpath") else ["-P", tmp]
    if spelling not in ("-n", "--name"):
        base += ["-n", BAD]
    tail = list(NAMED_TAIL.get(tool, []))
    if tool == "lxc-wait" and spelling not in ("-s", "--state"):
        tail = ["-s", "RUNNING", *tail]
    return [tool, *base, *option, *tail]


def try_option(bindir: str, argv: list[str], env: dict[str, str],
               tmp: str) -> tuple[bool, str]:
    """(accepted, what it said) for one command line, run in ``tmp`` (a file a tool
    writes, e.g. a log named by a misparsed option, lands there)."""
    path = os.path.join(bindir, argv[0])
    timeout = 2.0 if argv[0] in RUNS_ON else 30.0
    try:
        r = subprocess.run([path, *argv[1:]], capture_output=True, text=True, env=env,
                           timeout=timeout, stdin=subprocess.DEVNULL, cwd=tmp)
        said = r.stderr
    except subprocess.TimeoutExpired as exc:  # still running: it took its options
        said = (exc.stderr or b"").decode(errors="replace") if isinstance(
            exc.stderr, bytes) else (exc.stderr or "")
    line = next((ln for ln in said.splitlines() if ln.strip()), "")
    return REJECTED.search(said) is None, line


def count_options(bindir: str, tmp: str, env: dict[str, str], verbose: bool) -> dict:
    tools = sorted(os.path.basename(p)[:-5] for p in glob.glob(f"{MAN1}/lxc-*.1.gz"))
    per_tool = {}
    for tool in tools:
        if not os.access(os.path.join(bindir, tool), os.X_OK):
            continue
        rows = []
        for spelling, value, common in man_options(tool):
            argv = command_line(tool, spelling, value, tmp)
            ok, line = try_option(bindir, argv, env, tmp)
            rows.append({"option": spelling, "common": common, "accepted": ok,
                         "argv": argv, "said": line})
            if verbose or not ok:
                print(f"  {'ok ' if ok else 'NO '} {' '.join(argv)}\n       {line}",
                      file=sys.stderr)
        per_tool[tool] = rows
    return per_tool


def container_keys() -> list[str]:
    text = troff_text(gzip.open(MAN5, "rt").read())
    keys = set()
    for found in re.findall(r"lxc\.[a-z0-9_.\[\]*-]+", text):
        found = found.rstrip(".]-")
        for prefix, key in PLACEHOLDERS.items():
            if found.startswith(prefix.rstrip("[").rstrip(".")) and "[" in found:
                found = key
        found = found.replace("[i]", "0")
        if "[" in found or "*" in found:
            continue
        keys.add(found)
    return sorted(keys)


# a config with many keys set (LXC's own debian.common.conf, which includes common.conf,
# and values of this script's): what both lxc-info -c print for each key is compared
SET_CONFIG = """lxc.include = /usr/share/lxc/config/debian.common.conf
lxc.uts.name = set
lxc.arch = x86_64
lxc.rootfs.path = dir:{T}/set/rootfs
lxc.net.0.type = veth
lxc.net.0.link = br0
lxc.net.0.flags = up
lxc.net.0.name = eth0
lxc.net.0.hwaddr = 00:16:3e:12:34:56
lxc.net.0.mtu = 1400
lxc.net.0.ipv4.address = 10.0.3.2/24
lxc.net.0.ipv4.gateway = 10.0.3.1
lxc.net.0.ipv6.address = fd00::2/64
lxc.net.0.ipv6.gateway = fd00::1
lxc.net.0.veth.pair = vethset
lxc.net.0.script.up = /bin/true
lxc.net.0.script.down = /bin/true
lxc.environment = A=1
lxc.environment = B=2
lxc.init.cmd = /sbin/init
lxc.init.cwd = /
lxc.init.uid = 0
lxc.init.gid = 0
lxc.execute.cmd = /bin/sh -c true
lxc.signal.halt = SIGPWR
lxc.signal.reboot = SIGINT
lxc.signal.stop = SIGKILL
lxc.start.auto = 1
lxc.start.delay = 5
lxc.start.order = 10
lxc.group = onboot
lxc.console.path = none
lxc.console.logfile = {T}/console.log
lxc.autodev = 1
lxc.ephemeral = 0
lxc.no_new_privs = 1
lxc.prlimit.nofile = 1024
lxc.sysctl.net.ipv4.ip_forward = 1
lxc.proc.oom_score_adj = 10
lxc.cgroup.memory.limit_in_bytes = 256M
lxc.cgroup2.memory.max = 256M
lxc.hook.pre-start = /bin/true
lxc.hook.version = 1
lxc.monitor.unshare = 1
lxc.seccomp.allow_nesting = 1
lxc.mount.entry = tmpfs tmp tmpfs defaults 0 0
"""


def define(tmp: str, name: str, text: str | None = None) -> None:
    """A container both C LXC and lxcpy read: a config file in the lxcpath."""
    os.makedirs(os.path.join(tmp, name), exist_ok=True)
    with open(os.path.join(tmp, name, "config"), "w") as f:
        f.write(text or f"lxc.uts.name = {name}\nlxc.net.0.type = empty\n")


def count_keys(bindir: str, tmp: str, env: dict[str, str], verbose: bool) -> dict:
    define(tmp, "keys")
    define(tmp, "set", SET_CONFIG.replace("{T}", tmp))
    documented = container_keys()

    def ask(binary: str, key: str, name: str = "keys") -> str | None:
        """What ``lxc-info -c KEY`` prints, None for a key it does not know (C LXC says
        "KEY invalid" and exits 0; lxcpy exits 1)."""
        r = subprocess.run([binary, "-P", tmp, "-n", name, "-c", key],
                           capture_output=True, text=True, env=env, timeout=30)
        if r.returncode != 0 or re.search(r"invalid|unknown", r.stderr):
            return None
        return r.stdout

    theirs = {k: ask(f"{C_BIN}/lxc-info", k) for k in documented}
    lxc_knows = [k for k in documented if theirs[k] is not None]
    ours = {k: ask(f"{bindir}/lxc-info", k) for k in lxc_knows}
    missing = [k for k in lxc_knows if ours[k] is None]
    differ = {k: (theirs[k], ours[k]) for k in lxc_knows
              if ours[k] is not None and ours[k] != theirs[k]}
    # the key is unset in this config: lxcpy prints it empty, C LXC its built-in default
    # ("lxc.autodev = 1", "lxc.cgroup.dir = (null)")
    defaults = [k for k, (_c, mine) in differ.items() if mine in (f"{k} = \n", f"{k} =\n")]
    if missing or verbose:
        print(f"  keys lxcpy's lxc-info -c does not know: {missing}", file=sys.stderr)
    if verbose:
        print(f"  printed otherwise: {differ}", file=sys.stderr)
    # with the keys set: the same text, or another (C LXC's rendering of a value)
    set_theirs = {k: ask(f"{C_BIN}/lxc-info", k, "set") for k in lxc_knows}
    set_ours = {k: ask(f"{bindir}/lxc-info", k, "set") for k in lxc_knows}
    # the keys this config gave a value: C LXC prints them otherwise than for "keys"
    set_values = [k for k in lxc_knows if set_theirs[k] != theirs[k]]
    set_differ = {k: (set_theirs[k], set_ours[k]) for k in set_values
                  if set_theirs[k] != set_ours[k]}
    return {"set": {"keys_with_a_value": len(set_values),
                    "same_output": len(set_values) - len(set_differ), "differ": set_differ},
            "documented": len(documented), "lxc_knows": len(lxc_knows),
            "lxcpy_knows": len(lxc_knows) - len(missing), "missing": missing,
            "same_output": len(lxc_knows) - len(missing) - len(differ),
            "c_default": len(defaults),
            "differ": {k: v for k, v in differ.items() if k not in defaults}}


def count_system_keys(bindir: str, env: dict[str, str]) -> dict:
    items = subprocess.run([f"{C_BIN}/lxc-config", "-l"], capture_output=True, text=True,
                           env=env, timeout=30).stdout.split()
    missing = [i for i in items if subprocess.run([f"{bindir}/lxc-config", i],
                                                  capture_output=True, env=env,
                                                  timeout=30).returncode != 0]
    return {"lxc": len(items), "lxcpy": len(items) - len(missing), "missing": missing}


def checkconfig_items(binary: str, env: dict[str, str]) -> dict[str, str]:
    out = subprocess.run([binary], capture_output=True, text=True, env=env, timeout=60).stdout
    items = {}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", out).splitlines():
        label, sep, value = line.partition(":")
        if sep and label and not label.startswith((" ", "-", "usage", "Note")):
            items[label.strip()] = value.strip()
    return items


def count_checkconfig(bindir: str, env: dict[str, str]) -> dict:
    theirs = checkconfig_items(f"{C_BIN}/lxc-checkconfig", env)
    ours = checkconfig_items(f"{bindir}/lxc-checkconfig", env)
    missing = [k for k in theirs if k not in ours]
    differ = [k for k in theirs if k in ours and ours[k] != theirs[k]]
    return {"lxc": len(theirs), "lxcpy": len(theirs) - len(missing),
            "same_value": len(theirs) - len(missing) - len(differ), "missing": missing,
            "differ": {k: (theirs[k], ours[k]) for k in differ}}


def count_python(bindir: str, env: dict[str, str]) -> dict:
    """python3-lxc's names in ``import lxcpy as lxc``, asked of the installed venv's Python."""
    code = ("import inspect, json, sys\nimport lxcpy as lxc\nc = lxc.Container('parity')\n"
            "names, sigs = json.load(sys.stdin)\n"
            "out = {k: [n for n in v if not hasattr(c if k == 'container' else lxc, n)] "
            "for k, v in names.items()}\n"
            "def params(name):\n"
            "    f = getattr(lxc, name[4:]) if name.startswith('lxc.') else getattr(c, name)\n"
            "    return list(inspect.signature(f).parameters)\n"
            "out['signatures'] = [n for n, want in sigs.items() "
            "if params(n)[:len(want)] != want]\n"
            "print(json.dumps(out))\n")
    names = {"container": PY_CONTAINER, "functions": PY_FUNCTIONS, "values": PY_VALUES,
             "constants": PY_CONSTANTS}
    python = os.path.join(bindir, "python3")
    r = subprocess.run([python, "-c", code], input=json.dumps([names, PY_SIGNATURES]),
                       capture_output=True, text=True, env=env, timeout=60, check=True)
    missing = json.loads(r.stdout)
    out = {k: {"python3_lxc": len(v), "lxcpy": len(v) - len(missing[k]),
               "missing": missing[k]} for k, v in names.items()}
    out["signatures"] = {"python3_lxc": len(PY_SIGNATURES),
                         "lxcpy": len(PY_SIGNATURES) - len(missing["signatures"]),
                         "missing": missing["signatures"]}
    return out


def own_netns() -> bool:
    with open("/proc/self/net/dev") as f:
        return {ln.split(":")[0].strip() for ln in f.read().splitlines()[2:]} <= {"lo"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bindir", default=os.path.dirname(os.path.abspath(sys.executable)),
                        help="where lxcpy's lxc-* commands are (default: this Python's)")
    parser.add_argument("--verbose", action="store_true", help="every command line tried")
    parser.add_argument("--json", help="write the whole result here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("parity-count: run it as root")
    if not own_netns():  # the tools never see the host's interfaces
        os.execvp("unshare", ["unshare", "--net", "--", sys.executable,
                              os.path.abspath(__file__), *sys.argv[1:]])
    tmp = tempfile.mkdtemp(prefix="lxcpy-parity-")
    env = dict(os.environ)
    with open(os.path.join(tmp, "lxc.conf"), "w") as f:
        f.write(f"lxc.lxcpath = {tmp}\n")
    env["LXC_GLOBAL_CONF"] = os.path.join(tmp, "lxc.conf")
    env.pop("LXC_LXCPATH", None)
    try:
        options = count_options(args.bindir, tmp, env, args.verbose)
        keys = count_keys(args.bindir, tmp, env, args.verbose)
        system = count_system_keys(args.bindir, env)
        check = count_checkconfig(args.bindir, env)
        python = count_python(args.bindir, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"{'tool':<20} {'options':>8} {'accepted':>9}  rejected")
    totals = {True: [0, 0, set(), set()], False: [0, 0, set(), set()]}
    for tool, rows in options.items():
        specific = [r for r in rows if not r["common"]]
        ok = [r for r in specific if r["accepted"]]
        bad = " ".join(r["option"] for r in specific if not r["accepted"])
        print(f"{tool:<20} {len(specific):>8} {len(ok):>9}  {bad}")
        for r in rows:
            t = totals[r["common"]]
            t[0] += 1
            t[1] += r["accepted"]
            t[2].add((tool, r["option"]))
    for common, label in ((False, "command-specific"), (True, "common")):
        t = totals[common]
        print(f"{label} option spellings: {t[1]} of {t[0]} accepted "
              f"({len(options)} tools)")
    print(f"container keys (lxc.container.conf(5), known to C LXC's lxc-info -c): "
          f"{keys['lxcpy_knows']} of {keys['lxc_knows']} known to lxcpy's lxc-info -c, "
          f"{keys['same_output']} printed the same, {keys['c_default']} where C LXC prints "
          f"its default for the unset key ({keys['documented']} documented)"
          + (f"; missing: {' '.join(keys['missing'])}" if keys["missing"] else "")
          + (f"; printed otherwise: {keys['differ']}" if keys["differ"] else ""))
    print(f"with LXC's debian.common.conf and more set: {keys['set']['same_output']} of "
          f"{keys['set']['keys_with_a_value']} keys with a value printed the same by both "
          "lxc-info -c; otherwise:")
    for key, (c, mine) in keys["set"]["differ"].items():
        print(f"    {key}: C {c!r} lxcpy {mine!r}")
    print(f"system keys (C lxc-config -l): {system['lxcpy']} of {system['lxc']} answered by "
          "lxcpy's lxc-config" + (f"; missing: {' '.join(system['missing'])}"
                                  if system["missing"] else ""))
    print(f"lxc-checkconfig lines: {check['lxcpy']} of {check['lxc']} printed by lxcpy, "
          f"{check['same_value']} with the same value"
          + (f"; missing: {', '.join(check['missing'])}" if check["missing"] else "")
          + (f"; differ: {check['differ']}" if check["differ"] else ""))
    for kind, row in python.items():
        print(f"python3-lxc {kind}: {row['lxcpy']} of {row['python3_lxc']}"
              + (f"; missing: {' '.join(row['missing'])}" if row["missing"] else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"options": options, "keys": keys, "system_keys": system,
                       "checkconfig": check, "python": python}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
