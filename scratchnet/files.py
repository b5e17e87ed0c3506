"""How the project writes a file: to a temporary file beside it, then renamed into place.

A reader never sees half a file, and a failure (full disk, an exception, a
Ctrl-C) leaves the old file as it was. Every file the project writes goes
through ``atomic_path``.
"""

import errno
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "check_target"]


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it over ``path``, on failure remove it.

    A symbolic link is written through (its target is replaced, the link
    stays); an existing file keeps its permissions. Saving over something that
    is not a regular file (a directory, a FIFO, a device) raises ``OSError``
    before anything is written.
    """
    if os.fspath(path).endswith(("/", os.sep)):
        raise IsADirectoryError(errno.EISDIR, "names a folder, not a file", os.fspath(path))
    target = Path(os.path.realpath(os.fspath(path)))
    mode = _existing_mode(target)
    _check_folder(target)
    # The temporary name keeps the suffix, so that writers that go by it (matplotlib) write the same format.
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{target.suffix}", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temporary)
        if mode is None:  # a new file gets the usual permissions, not mkstemp's 0o600
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise


def check_target(path):
    """Raise ``OSError`` now if ``atomic_path(path)`` would refuse to write there later (before long work)."""
    target = Path(os.path.realpath(os.fspath(path)))
    _existing_mode(target)
    _check_folder(target)
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, "cannot write into its folder", str(target))


def _check_folder(target):
    """``FileNotFoundError`` naming the missing folder, rather than the temporary file that could not be made in it."""
    if not target.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"its folder {str(target.parent)!r} does not exist", str(target))


def _existing_mode(target):
    """The permissions of the regular file at ``target``, None if there is none; ``OSError`` for anything else."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory; refusing to write over it", str(target))
    if not stat.S_ISREG(info.st_mode):
        raise OSError(errno.EINVAL, "not a regular file (a FIFO or a device?); refusing to write over it", str(target))
    if not os.access(target, os.W_OK):  # replacing by rename would ignore the file's own permissions
        raise PermissionError(errno.EACCES, "the file is read-only; refusing to replace it", str(target))
    return stat.S_IMODE(info.st_mode)
