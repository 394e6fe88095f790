"""Files that are either absent or whole: written to a temporary file in the same folder,
flushed to disk, then renamed over the target (``os.replace`` is atomic within a folder).
A batch killed at any moment leaves at most a stray ``.*.tmp`` file, never a truncated result."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

TMP_SUFFIX = ".tmp"
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp makes 0600 files, a result file gets the usual mode


def write_atomic(path: str | Path, text: str) -> None:
    """``path`` holds ``text`` entirely, or keeps what it held before."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_stale_temporaries(folder: str | Path) -> int:
    """Delete the temporary files a killed run left behind; how many there were."""
    n = 0
    for p in Path(folder).glob(f".*{TMP_SUFFIX}"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C waits until the block is done (a result and its details are written together),
    then is delivered again to the handler that was there before (by default: KeyboardInterrupt).
    Outside the main thread signals cannot be handled: the block just runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        os.kill(os.getpid(), signal.SIGINT)


__all__ = ["TMP_SUFFIX", "interrupts_deferred", "remove_stale_temporaries", "write_atomic"]
