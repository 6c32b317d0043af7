"""A ``predict`` run that ``kill -9``s itself right after its N-th journal segment is on disk (test-only).

Run through the fork server as a script: ``kill_after_segments.py N predict --config ...``. The kill lands at an
exact point of the run (N = the number of segments: after the last one, while the files are being closed), where
a kill from outside would have to be lucky. Everything else is the real command line.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from vis4d.engine.callbacks import journal
from vis4d.engine.trainer import main

KILL_AFTER = int(sys.argv[1])
_save_segment = journal.save_segment
_written = [0]


def save_segment(*args: Any, **kwargs: Any) -> None:
    """Write the segment, then die if it was the N-th."""
    _save_segment(*args, **kwargs)
    _written[0] += 1
    if _written[0] == KILL_AFTER:
        os.kill(os.getpid(), signal.SIGKILL)


journal.save_segment = save_segment
sys.exit(main(sys.argv[2:]))
