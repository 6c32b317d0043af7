"""Ending a command-line process without the interpreter's teardown.

Once torch, torchvision and Lightning are loaded, Python's own teardown (every
module freed, then the C++ libraries' static destructors) takes about 1.5 s of
CPU after a command has done its work and printed its last line: a user waits
for nothing, and a DDP launcher waits that long for every rank it started.
:func:`exit_now` does what that teardown does for the program, in the same
order, then ends the process.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int | None) -> NoReturn:
    """End the process with ``code`` (None: 0) as the interpreter would, minus freeing its modules.

    What a program may rely on at exit still happens: threads that are not
    daemons are joined (with the hooks run at that point, such as thread pools
    finishing their work), then the ``atexit`` handlers run (loggers, data
    loader workers, multiprocessing's clean-up), then stdout and stderr are
    flushed. For the command-line entry points only: a library call returns.
    """
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter calls first when it exits
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed, or a closed pipe: nothing more can be said
            pass
    os._exit(0 if code is None else code)
