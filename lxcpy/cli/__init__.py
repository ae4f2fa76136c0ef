"""One small click module per command; the shared options and error handling live in common."""

# _signal, the C module: `signal` adds enum wrappers that cost ~1 ms of every start-up
import _signal
import os as _os
import sys as _sys

# Ctrl-C while a command is still importing (click, the library) must end it like a C tool
# (killed by SIGINT, nothing printed), not with a KeyboardInterrupt traceback. Only for the
# console scripts; common.entry() gives Python's handler back once the command runs.
SIGINT_DEFERRED = False


def _die_by_sigint(signum: int, frame: object) -> None:
    # A Python handler, not SIG_DFL: a SIGINT that arrived while the interpreter was still
    # starting is pending with Python and is delivered only to a Python-level handler.
    _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
    _os.kill(_os.getpid(), _signal.SIGINT)


if (_os.path.basename(_sys.argv[0] if _sys.argv else "").startswith("lxc-")
        and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler):
    try:
        _signal.signal(_signal.SIGINT, _die_by_sigint)
        SIGINT_DEFERRED = True
    except ValueError:  # not the main thread
        pass
