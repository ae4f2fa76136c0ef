"""One exception family. Each error knows its exit code and its one-line message."""

from __future__ import annotations


class LxcError(Exception):
    """Base of every error a user may see: one line on stderr, exit ``exit_code``."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


def exec_status(err: int) -> int:
    """The exit status of a command that could not be executed, from exec's errno, one rule
    for lxc-execute's init, lxc-attach, lxc-usernsexec and lxc-unshare (the shell's, and
    LXC's attach): 127 when it was not found (no such file, a path component that is not a
    directory or does not resolve), 126 when it was found but cannot run (permission, format,
    a directory...)."""
    import errno

    not_found = (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG, errno.ELOOP)
    return 127 if err in not_found else 126


class ConfigError(LxcError):
    """A config line we cannot accept; the message names file, line and key."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 key: str | None = None) -> None:
        where = ""
        if file is not None:
            where = f"{file}:{line}: " if line is not None else f"{file}: "
        if key is not None:
            where += f"{key}: "
        super().__init__(where + message)
        self.file, self.line, self.key = file, line, key


class InvalidName(LxcError):
    """A container name we refuse (path separators, control characters, too long...)."""


class NotDefined(LxcError):
    """The container has no config in the lxcpath."""


class AlreadyExists(LxcError):
    pass


class AlreadyRunning(LxcError):
    pass


class NotRunning(LxcError):
    pass


class StartError(LxcError):
    """The start failed; the container went through ABORTING and was cleaned up."""


class KernelError(LxcError):
    """A system call failed; carries the call's name and errno."""

    def __init__(self, call: str, errno_: int, detail: str = "") -> None:
        import os

        self.call, self.errno = call, errno_
        text = f"{call}: {os.strerror(errno_)}"
        if detail:
            text = f"{call} {detail}: {os.strerror(errno_)}"
        super().__init__(text)


class CgroupError(LxcError):
    pass


class NetworkError(LxcError):
    pass


class UsageError(LxcError):
    pass
