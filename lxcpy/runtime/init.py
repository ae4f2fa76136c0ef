"""The small init of lxc-execute: PID 1 of the container, the command is PID 2.

It reaps every zombie, forwards SIGTERM/SIGINT/SIGHUP/SIGUSR1/SIGUSR2/SIGPWR (and a few
more) to the command, and exits with the command's status (128+N for death by signal N).
When PID 1 exits, the kernel kills whatever is left in the PID namespace.
"""

from __future__ import annotations

import errno
import os
import signal
from typing import TYPE_CHECKING

from lxcpy import kernel as k

if TYPE_CHECKING:
    from lxcpy.runtime.child import ChildSpec
    from lxcpy.runtime.sync import Channel


def run_init(spec: ChildSpec, chan: Channel, env: dict[str, str]) -> None:
    from lxcpy.runtime.child import FORWARDED

    k.set_process_name("init")
    # A process in the container must not reach our host binary through /proc/1/exe.
    k.prctl(k.PR_SET_DUMPABLE, 0)
    exec_r, exec_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        os.close(exec_r)
        chan.close()
        try:
            os.execvpe(spec.argv[0], spec.argv, env)
        except OSError as exc:
            os.write(exec_w, str(exc.errno).encode())
        os._exit(127)
    os.close(exec_w)
    failure = os.read(exec_r, 32)
    os.close(exec_r)

    command_status: int | None = None
    if failure:
        err = int(failure)
        code = 126 if err in (errno.EACCES, errno.ENOEXEC, errno.EISDIR) else 127
        from lxcpy.runtime.child import print_error

        print_error(spec.prog, spec.name, f"{spec.argv[0]}: {os.strerror(err)}")
        command_status = code
    chan.send(running=True, command_pid=pid)
    chan.close()

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)

    while True:
        try:
            child, status = os.wait()
        except ChildProcessError:
            break
        if child == pid and command_status is None:
            code = os.waitstatus_to_exitcode(status)
            command_status = code if code >= 0 else 128 - code
            break
    os._exit(command_status if command_status is not None else 0)
