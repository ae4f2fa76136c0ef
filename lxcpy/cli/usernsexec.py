"""lxc-usernsexec [-m [u|g|b]:NSID:HOSTID:RANGE]... [-s] [--] [COMMAND [ARG...]]

As LXC's: run COMMAND (default /bin/sh) as root of a new user and mount namespace. Without
-m, the caller's ranges of /etc/subuid and /etc/subgid are mapped from 0; -s maps the
caller's own uid and gid too. Typical use, as LXC's templates: give a tree to a
container's root, ``lxc-usernsexec -m b:0:100000:65536 -- chown -R 0:0 ROOTFS`` (the tree
must be reachable by uid 100000). Exit status: COMMAND's.
"""

from __future__ import annotations

import sys

USAGE = """usage: lxc-usernsexec [-h] [-m <uid-maps>] [-s] -- [command [arg ..]]

  -h            this message

  -m <uid-maps> uid maps to use

  -s:           map self
  uid-maps: [u|g|b]:ns_id:host_id:range
            [u|g|b]: map user id, group id, or both
            ns_id: the base id in the new namespace
            host_id: the base id in the parent namespace
            range: how many ids to map
  Note: root's maps are written directly; any other user's through newuidmap(1) and
        newgidmap(1) (Debian's uidmap), which check them against /etc/subuid and
        /etc/subgid.
"""


def main(argv: list[str] | None = None) -> int:
    import getopt

    from lxcpy.errors import LxcError
    from lxcpy.runtime import userns

    args = sys.argv[1:] if argv is None else argv
    try:
        opts, rest = getopt.getopt(args, "m:hs")  # stops at the first non-option, as LXC's
    except getopt.GetoptError as exc:
        sys.stderr.write(f"lxc-usernsexec: {exc}\n{USAGE}")
        return 1
    try:
        maps = []
        mine = False
        for opt, value in opts:
            if opt == "-h":
                sys.stdout.write(USAGE)
                return 0
            if opt == "-m":
                maps.extend(userns.parse_usernsexec_map(value))
            else:
                mine = True
        if not maps:
            maps = userns.default_maps()
        if mine:
            maps = userns.map_self(maps)
        return userns.usernsexec(maps, rest or ["/bin/sh"])
    except LxcError as exc:
        sys.stderr.write(f"lxc-usernsexec: {exc.message}\n")
        return 1
    except KeyboardInterrupt:
        return 130
