"""The one place pyroute2 is imported: a small rtnetlink client on its message classes.

pyroute2's ``IPRoute`` costs ~100-160 ms of CPU to import and start (its socket core
imports asyncio and runs an event loop). lxcpy needs a dozen requests, so ``Rtnl`` sends
them itself over a plain ``AF_NETLINK``/``NETLINK_ROUTE`` socket: pyroute2's message
classes (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``) encode each request and decode each reply,
and the kernel's refusals surface as pyroute2's ``NetlinkError`` with the kernel's errno.
``Rtnl`` answers the IPRoute calls lxcpy makes (``link``, ``link_lookup``, ``get_links``,
``addr``, ``get_addr``, ``flush_addr``, ``route``) with the same messages and errors, so
code written against IPRoute reads the same; each request is the one IPRoute sends.

pyroute2's package ``__init__`` imports nearly the whole library (NDB, IPDB, conntrack,
ipset, nftables, ...) and any ``pyroute2.x.y`` import runs it first. ``_lazy_package()``
registers the package module *unexecuted*, so only the message modules load under it; the
package's ``__init__`` runs the first time anyone asks the package for a name it lacks (PEP
562 ``__getattr__``) -- a later ``from pyroute2 import IPRoute`` elsewhere still works.

What the message modules import of the standard library is most of their cost (issue 18,
bench/NOTES.md): ``pyroute2.config`` (multiprocessing, pickle, platform, signal: only
ifinfmsg imports it, for three names), and typing (pyroute2.netlink, pyroute2.common: for
annotations), logging and traceback (pyroute2.netlink, ifinfmsg: error paths), pkgutil
(ifinfmsg: plugin packages, none here), socket (constants). While the message modules
load, stand-ins hold those places (``_lazy_config`` always, ``_shield`` on a shielded
``load``); each hands out the real module's names on first use, and the real modules are
what any later import gets.
"""

from __future__ import annotations

import _socket
import errno
import importlib
import os
import struct
import sys
from types import ModuleType

TYPE_CHECKING = False  # no typing at run time: typing, re and enum cost every start
if TYPE_CHECKING:
    from typing import Any

_api: tuple[type[Rtnl], type[Exception]] | None = None

# <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if.h>
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK = 0x1, 0x2, 0x4
NLM_F_DUMP = 0x300
NLM_F_EXCL, NLM_F_CREATE = 0x200, 0x400
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK = 16, 17, 18
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTM_NEWROUTE, RTM_DELROUTE = 24, 25
IFF_UP = 0x1
RT_TABLE_MAIN, RTPROT_STATIC, RTN_UNICAST = 254, 4, 1
_NLMSGHDR = struct.Struct("=IHHII")
_RECV_SIZE = 1 << 16  # bigger than any message the kernel puts in one datagram here


def _find_spec(name: str, path: Any = None) -> Any:
    """``importlib.util.find_spec`` of a module not imported yet (importlib.util imports
    contextlib: ~2 ms a veth start): the first of ``sys.meta_path``'s finders that knows it."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        spec = find(name, path) if find is not None else None
        if spec is not None:
            return spec
    return None


def _module_from_spec(spec: Any) -> Any:
    """``importlib.util.module_from_spec`` for a source package or module: the module object
    with the attributes the import system would set, not executed yet."""
    module: Any = spec.loader.create_module(spec) or ModuleType(spec.name)
    module.__spec__, module.__loader__ = spec, spec.loader
    module.__package__ = spec.parent if spec.submodule_search_locations is None else spec.name
    if spec.submodule_search_locations is not None:
        module.__path__ = spec.submodule_search_locations
    if spec.has_location and spec.origin is not None:
        module.__file__ = spec.origin
        if spec.cached is not None:
            module.__cached__ = spec.cached
    return module


def _lazy_package() -> None:
    spec = _find_spec("pyroute2")
    if spec is None or spec.loader is None:
        raise ImportError("pyroute2 is not installed")
    package = _module_from_spec(spec)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        # `from pyroute2 import config` inside pyroute2 probes the attribute first:
        # hand out submodules without running the package's __init__
        full = f"pyroute2.{name}"
        if full in sys.modules or _find_spec(full, package.__path__) is not None:
            return importlib.import_module(full)
        package.__dict__.pop("__getattr__", None)
        assert spec.loader is not None
        spec.loader.exec_module(package)  # the full package, once, on demand
        return getattr(package, name)

    package.__getattr__ = __getattr__
    sys.modules["pyroute2"] = package


def _lazy_config() -> None:
    """``pyroute2.config`` with the four names the message modules read, the rest on demand.

    The real module imports multiprocessing (pickle with it), platform and signal for
    IPRoute's sockets and workers: ~9 ms of CPU a start (importtime, median). ifinfmsg
    reads only AF_BRIDGE and its two plugin lists at import (rtmsg, ifaddrmsg, the plugins
    and the netlink core nothing), so this stand-in is the real module's object with just
    those set; the first other name asked of it runs the real module's code into it, so a
    later IPRoute in the same process gets the real configuration, same values."""
    spec = _find_spec("pyroute2.config", sys.modules["pyroute2"].__path__)
    if spec is None or spec.loader is None:
        return  # the real one then, imported by ifinfmsg as usual
    config = _module_from_spec(spec)
    config.__dict__.update(AF_BRIDGE=getattr(_socket, "AF_BRIDGE", 7),
                           AF_NETLINK=getattr(_socket, "AF_NETLINK", 16),
                           data_plugins_pkgs=[], data_plugins_path=[])

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        config.__dict__.pop("__getattr__", None)
        assert spec.loader is not None
        spec.loader.exec_module(config)  # the whole configuration, once, on demand
        return getattr(config, name)

    config.__getattr__ = __getattr__
    sys.modules["pyroute2.config"] = config
    sys.modules["pyroute2"].__dict__["config"] = config  # as the import system binds it


class _Annotation:
    """What typing's names give pyroute2's annotations evaluated at import: itself, for
    any subscript or call (``Union[...]``, ``TypeVar("F", bound=...)``)."""

    __slots__ = ()

    def __getitem__(self, _item: object) -> _Annotation:
        return self

    def __call__(self, *_args: object, **_kwargs: object) -> _Annotation:
        return self


class _Logger:
    """``logging.getLogger(name)`` of a shielded import: the real logger, made on first use."""

    __slots__ = ("_name",)

    def __init__(self, name: str | None = None) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(_real("logging").getLogger(self._name), attr)


def _real(name: str) -> Any:
    """The real standard module ``name``, imported now if a stand-in still holds its place."""
    module = sys.modules.get(name)
    if module is not None and module.__dict__.get("_lxcpy_stand_in"):
        del sys.modules[name]
    return importlib.import_module(name)


def _stand_in(name: str, **names: Any) -> ModuleType:
    """A module standing in for ``name``: ``names`` as given, anything else from the real
    module, imported on first use."""
    module = ModuleType(name)
    module.__dict__.update(names, _lxcpy_stand_in=True)

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(_real(name), attr)

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def _shield() -> dict[str, ModuleType]:
    """Stand-ins for the standard modules pyroute2's message modules import but use only in
    annotations, error paths and plugin packages: typing (~4 ms), logging and traceback
    (re, textwrap, tokenize, linecache, string: ~10 ms; importtime, idle VM), pkgutil
    (which imports typing), socket (below). Only the ones not imported yet, and in
    sys.modules only while the message modules load (see ``load``)."""
    annotation = _Annotation()
    made = {
        "typing": _stand_in("typing", **dict.fromkeys(
            ("Any", "Callable", "Dict", "Literal", "Optional", "TypeVar", "Union"), annotation)),
        "logging": _stand_in("logging", getLogger=_Logger),
        "traceback": _stand_in("traceback"),
        "pkgutil": _stand_in("pkgutil"),
        # socket's enum and selectors (~3 ms): the messages use its constants (plain ints
        # here, IntEnum there: equal) and inet_pton/ntop, the same functions in _socket
        "socket": _stand_in("socket", AddressFamily=annotation, SocketKind=annotation,
                            **_socket_names()),
    }
    made = {name: module for name, module in made.items() if name not in sys.modules}
    sys.modules.update(made)
    return made


def _socket_names() -> dict[str, Any]:
    names = {n: v for n, v in vars(_socket).items() if n.isupper() and isinstance(v, int)}
    for n in ("inet_pton", "inet_ntop", "inet_aton", "inet_ntoa", "htons", "ntohs", "htonl",
              "ntohl"):
        names[n] = getattr(_socket, n)
    return names


def _unshield(made: dict[str, ModuleType]) -> None:
    for name, module in made.items():
        if sys.modules.get(name) is module:
            del sys.modules[name]


def _import_messages(shield: bool) -> None:
    """pyroute2's rtnetlink message modules (not its sockets), under the lazy package."""
    if "pyroute2" not in sys.modules:
        made = _shield() if shield else {}
        try:
            _lazy_package()
            _lazy_config()
            importlib.import_module("pyroute2.netlink.rtnl.ifinfmsg")
            importlib.import_module("pyroute2.netlink.rtnl.ifaddrmsg")
            importlib.import_module("pyroute2.netlink.rtnl.rtmsg")  # imports socket's names
            importlib.import_module("pyroute2.netlink.exceptions")
        except Exception:
            # a pyroute2 this does not fit: forget every trace, import it the plain way
            for name in [m for m in sys.modules if m == "pyroute2" or m.startswith("pyroute2.")]:
                del sys.modules[name]
        finally:
            _unshield(made)
    importlib.import_module("pyroute2.netlink.rtnl.ifinfmsg")
    importlib.import_module("pyroute2.netlink.rtnl.ifaddrmsg")


def _message_class(name: str) -> Any:
    module, _, cls = name.rpartition(".")
    return getattr(importlib.import_module(f"pyroute2.netlink.rtnl.{module}"), cls)


def load(shield: bool = False) -> tuple[type[Rtnl], type[Exception]]:
    """``(Rtnl, NetlinkError)``, importing the least of pyroute2 that provides them.

    ``shield``: with the standard modules' stand-ins (``_shield``), for the first load in
    a process whose other threads import nothing meanwhile (a stand-in is in sys.modules
    for the while, for every thread): the supervisor's, before it forks the init. Without,
    the same messages, ~10 ms more of CPU (python library users, lxc-device, lxc-unshare)."""
    global _api
    if _api is None:
        _import_messages(shield)
        from pyroute2.netlink.exceptions import NetlinkError

        _api = (Rtnl, NetlinkError)
    return _api


# --------------------------------------------------------------------------- the client


class Rtnl:
    """An rtnetlink socket in this netns (or ``fileno``'s, e.g. ``nsexec.netns_socket``).

    One request at a time: each call sends one message and reads the replies with its
    sequence number up to the kernel's ACK (or the dump's end); an error reply raises
    ``NetlinkError(errno)``. Use it as a context manager: open, do, close.
    """

    __slots__ = ("_sock", "_seq")

    def __init__(self, fileno: int | None = None) -> None:
        if fileno is None:
            self._sock = _socket.socket(_socket.AF_NETLINK,
                                        _socket.SOCK_RAW | _socket.SOCK_CLOEXEC,
                                        _socket.NETLINK_ROUTE)
        else:
            self._sock = _socket.socket(fileno=fileno)
        self._seq = 0

    def __enter__(self) -> Rtnl:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    # ----------------------------------------------------------------- links

    def link(self, command: str, **spec: Any) -> list[Any]:
        """``get`` / ``dump`` / ``add`` / ``set`` / ``del`` a link, as IPRoute.link does.

        Keys: index, ifname, kind, peer (a name or a dict of these keys), state ('up' /
        'down'), address, mtu, master, link, net_ns_fd, net_ns_pid, and the kind's own
        (macvlan_mode, vlan_id, ...: IFLA_<KIND>_<KEY> of its IFLA_INFO_DATA)."""
        if command == "dump":
            return self.get_links()
        mtype, flags = {
            "get": (RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK),
            "add": (RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL),
            "set": (RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK),
            "del": (RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK),
        }[command]
        return self.request(link_message(spec), mtype, flags)

    def link_lookup(self, ifname: str) -> list[int]:
        """``[index]`` of the link called ``ifname``, ``[]`` if there is none."""
        _, NetlinkError = load()
        try:
            return [int(m["index"]) for m in self.link("get", ifname=ifname)]
        except NetlinkError as exc:
            if code_of(exc) in (errno.ENODEV, errno.ENOENT):
                return []
            raise

    def get_links(self) -> list[Any]:
        return self.request(link_message({}), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP)

    # ----------------------------------------------------------------- addresses

    def addr(self, command: str, **spec: Any) -> list[Any]:
        """``add`` / ``del`` an address: index, address, prefixlen, broadcast, family."""
        mtype, flags = {
            "add": (RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL),
            "del": (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK),
        }[command]
        return self.request(addr_message(spec), mtype, flags)

    def get_addr(self, index: int | None = None, family: int = _socket.AF_UNSPEC) -> list[Any]:
        """Every address of ``family`` (all by default), of link ``index`` if given."""
        msg = _message_class("ifaddrmsg.ifaddrmsg")()
        msg["family"] = family
        found = self.request(msg, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP)
        return [a for a in found if index is None or a["index"] == index]

    def flush_addr(self, index: int) -> list[Any]:
        """Delete every address of link ``index``; the ones deleted.

        As IPRoute's: once one is gone, a refusal is skipped (deleting an IPv4 primary
        takes its secondaries with it, which then no longer exist to delete)."""
        _, NetlinkError = load()
        deleted: list[Any] = []
        for a in self.get_addr(index=index):
            spec = {"index": a["index"], "family": a["family"], "prefixlen": a["prefixlen"],
                    "address": a.get("address")}
            if a.get("local") is not None:
                spec["local"] = a.get("local")
            try:
                self.addr("del", **spec)
            except NetlinkError:
                if not deleted:
                    raise
                continue
            deleted.append(a)
        return deleted

    # ----------------------------------------------------------------- routes

    def route(self, command: str, **spec: Any) -> list[Any]:
        """``add`` / ``del`` a route in the main table: dst ('a/len'), gateway, oif, scope,
        family (from dst or gateway if not given)."""
        mtype, flags = {
            "add": (RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL),
            "del": (RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK),
        }[command]
        return self.request(route_message(spec), mtype, flags)

    # ----------------------------------------------------------------- the exchange

    def request(self, msg: Any, mtype: int, flags: int) -> list[Any]:
        """Send ``msg`` as ``mtype``; the decoded replies (a dump's messages, a get's one)."""
        self._seq += 1
        msg["header"] = {"type": mtype, "flags": flags, "sequence_number": self._seq, "pid": 0}
        msg.encode()
        self._sock.send(msg.data)
        return self._replies(self._seq, type(msg), bool(flags & (NLM_F_ACK | NLM_F_DUMP)))

    def _replies(self, seq: int, cls: Any, until_end: bool) -> list[Any]:
        """The replies to request ``seq``, up to the ACK or the dump's end if ``until_end``."""
        found: list[Any] = []
        while True:
            data = self._sock.recv(_RECV_SIZE)
            offset = 0
            while offset + _NLMSGHDR.size <= len(data):
                length, mtype, flags, mseq, _pid = _NLMSGHDR.unpack_from(data, offset)
                if length < _NLMSGHDR.size:
                    raise OSError(errno.EPROTO, "netlink: a reply with a bad length")
                if mseq == seq:  # anything else: a late reply to an earlier request
                    if mtype in (NLMSG_ERROR, NLMSG_DONE):
                        # both carry an int: 0 (ACK, end of dump) or a negative errno
                        code = 0
                        if length >= _NLMSGHDR.size + 4:
                            (code,) = struct.unpack_from("=i", data, offset + _NLMSGHDR.size)
                        if code:
                            raise _error(-code)
                        return found
                    reply = cls(data, offset=offset)
                    reply.decode()
                    found.append(reply)
                    if not until_end and not flags & NLM_F_MULTI:
                        return found
                offset += (length + 3) & ~3


def _error(code: int) -> Exception:
    _, NetlinkError = load()
    return NetlinkError(code)


# --------------------------------------------------------------------------- encoders


def link_message(spec: dict[str, Any]) -> Any:
    """An ``ifinfmsg`` for ``spec`` (see ``Rtnl.link``), ready to encode."""
    ifinfmsg = _message_class("ifinfmsg.ifinfmsg")
    msg = ifinfmsg()
    _link_fields(msg, ifinfmsg, dict(spec))
    return msg


def _link_fields(msg: Any, ifinfmsg: Any, spec: dict[str, Any]) -> None:
    """Fill an ``ifinfmsg`` or a veth peer's ``ifinfveth`` from ``spec`` (consumed)."""
    msg["index"] = spec.pop("index", 0)
    state = spec.pop("state", None)
    msg["flags"] = IFF_UP if state == "up" else 0
    msg["change"] = IFF_UP if state in ("up", "down") else 0
    kind = spec.pop("kind", None)
    peer = spec.pop("peer", None)
    attrs: list[Any] = []
    for key, value in list(spec.items()):
        name = "IFLA_" + key.upper()
        if key in ("ifname", "address", "mtu", "master", "link", "net_ns_fd", "net_ns_pid",
                   "txqlen", "group", "ifalias"):
            attrs.append((name, value))
            del spec[key]
    if kind is not None:
        info: list[Any] = [("IFLA_INFO_KIND", kind)]
        data: list[Any] = []
        if peer is not None:
            if kind != "veth":
                raise TypeError(f"a peer is for veth links, not {kind}")
            peer_spec = {"ifname": peer} if isinstance(peer, str) else dict(peer)
            peer_msg = _message_class("ifinfmsg.ifinfveth")()
            _link_fields(peer_msg, ifinfmsg, peer_spec)
            data.append(("VETH_INFO_PEER", {"attrs": peer_msg["attrs"],
                                            "index": peer_msg["index"],
                                            "flags": peer_msg["flags"],
                                            "change": peer_msg["change"]}))
        kind_data = ifinfmsg.ifinfo.data_map.get(kind)
        known = {n for n, *_ in getattr(kind_data, "nla_map", ())} if kind_data else set()
        for key in list(spec):
            name = f"IFLA_{key.upper()}"
            if name in known:
                data.append((name, spec.pop(key)))
        if data:
            info.append(("IFLA_INFO_DATA", {"attrs": data}))
        attrs.append(("IFLA_LINKINFO", {"attrs": info}))
    elif peer is not None:
        raise TypeError("a peer needs kind = veth")
    if spec:
        raise TypeError(f"unknown link keys: {', '.join(sorted(spec))}")
    msg["attrs"] = attrs


def _family_of(address: str) -> int:
    return _socket.AF_INET6 if ":" in address else _socket.AF_INET


def addr_message(spec: dict[str, Any]) -> Any:
    """An ``ifaddrmsg`` for ``spec`` (see ``Rtnl.addr``); IPv4 gets IFA_LOCAL as IPRoute."""
    spec = dict(spec)
    address = str(spec.pop("address"))
    family = spec.pop("family", None) or _family_of(address)
    msg = _message_class("ifaddrmsg.ifaddrmsg")()
    msg["index"] = spec.pop("index")
    msg["family"] = family
    msg["prefixlen"] = spec.pop("prefixlen", 32 if family == _socket.AF_INET else 128)
    msg["flags"] = 0
    msg["scope"] = 0
    attrs: list[Any] = [("IFA_ADDRESS", address)]
    broadcast = spec.pop("broadcast", None)
    if broadcast is not None:
        attrs.append(("IFA_BROADCAST", str(broadcast)))
    local = spec.pop("local", None)
    if local is None and family == _socket.AF_INET:
        local = address
    if local is not None:
        attrs.append(("IFA_LOCAL", str(local)))
    if spec:
        raise TypeError(f"unknown address keys: {', '.join(sorted(spec))}")
    msg["attrs"] = attrs
    return msg


def route_message(spec: dict[str, Any]) -> Any:
    """An ``rtmsg`` for ``spec`` (see ``Rtnl.route``): main table, proto static, unicast."""
    spec = dict(spec)
    dst, gateway = spec.pop("dst", None), spec.pop("gateway", None)
    family = spec.pop("family", None)
    if family is None:
        family = _family_of(str(dst or gateway or ""))
    msg = _message_class("rtmsg.rtmsg")()
    msg["family"] = family
    msg["dst_len"] = msg["src_len"] = msg["tos"] = msg["flags"] = 0
    msg["table"], msg["proto"], msg["type"] = RT_TABLE_MAIN, RTPROT_STATIC, RTN_UNICAST
    msg["scope"] = spec.pop("scope", 0)
    attrs: list[Any] = []
    if dst is not None:
        host, _, length = str(dst).partition("/")
        msg["dst_len"] = int(length) if length else (32 if family == _socket.AF_INET else 128)
        if msg["dst_len"]:
            attrs.append(("RTA_DST", host))
    if gateway is not None:
        attrs.append(("RTA_GATEWAY", str(gateway)))
    if "oif" in spec:
        attrs.append(("RTA_OIF", spec.pop("oif")))
    if spec:
        raise TypeError(f"unknown route keys: {', '.join(sorted(spec))}")
    msg["attrs"] = attrs
    return msg


# --------------------------------------------------------------------------- helpers


def strerror(exc: BaseException) -> str:
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return os.strerror(code)
    return str(exc)


def code_of(exc: BaseException) -> int:
    code = getattr(exc, "code", None) or getattr(exc, "errno", None)
    return code if isinstance(code, int) else 0


def get_link(ipr: Any, name: str) -> Any | None:
    """The link message of ``name`` in the socket's netns, or None if there is none."""
    _, NetlinkError = load()
    try:
        return ipr.link("get", ifname=name)[0]
    except NetlinkError as exc:
        if code_of(exc) in (errno.ENODEV, errno.ENOENT):
            return None
        raise


def kind_of(link: Any) -> str | None:
    kind = link.get(("linkinfo", "kind"))
    return str(kind) if kind is not None else None


def delete_link(ipr: Any, name: str) -> bool:
    """Delete ``name``; False if it was already gone."""
    _, NetlinkError = load()
    link = get_link(ipr, name)
    if link is None:
        return False
    try:
        ipr.link("del", index=link["index"])
    except NetlinkError as exc:
        if code_of(exc) in (errno.ENODEV, errno.ENOENT):
            return False
        raise
    return True


def first_address(ipr: Any, index: int, family: int) -> str | None:
    """The first address of ``family`` on link ``index`` (IPv6: global before link-local)."""
    addrs = [a.get("address") for a in ipr.get_addr(index=index, family=family)]
    addrs = [a for a in addrs if a]
    if family == _socket.AF_INET6:  # a global gateway is the better default route
        import ipaddress

        addrs.sort(key=lambda a: ipaddress.ip_address(a).is_link_local)
    return str(addrs[0]) if addrs else None
