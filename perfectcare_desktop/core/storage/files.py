"""Writing files so that a crash or a full disk never leaves a half-written one behind, and so that an
export never lands anywhere but in an ordinary file of the user's own (not a device, not through a link)."""

from __future__ import annotations

import errno
import os
import stat
import sys
import uuid
from pathlib import Path

from ...errors import InvalidInput, StoreNotWritable


class TargetExists(InvalidInput):
    """The destination is an existing file and replacing it was not asked for."""


def _what_it_is(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not an ordinary file"


def check_target(destination: Path, *, overwrite: bool) -> None:
    """Refuse, before any work is done, a destination that is not a new or an ordinary file.

    lstat, not stat: a symbolic link is refused as itself, never followed to what it points at."""
    destination = Path(destination)
    try:
        mode = os.lstat(destination).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreNotWritable(f"Cannot write {destination}: {exc.strerror or exc}. Nothing was written.") from exc
    if stat.S_ISREG(mode):
        if not overwrite:
            raise TargetExists(
                f"{destination} already exists and was left as it is; nothing was written. Give a new file name."
            )
        return
    what = _what_it_is(mode)
    hint = "give the file name itself" if what == "a symbolic link" else "give a file name"
    raise InvalidInput(f"{destination} is {what}, not an ordinary file; {hint}. Nothing was written.")


# Windows: a protected DACL (no ACEs inherited from the folder) granting full control to the file's owner
# (OWNER RIGHTS) and nobody else. A shared Documents or a redirected folder can grant its whole team read
# access by inheritance; an export of a person's record must not pick that up.
PRIVATE_SDDL = "D:P(A;;FA;;;OW)"


def write_new_private(path: Path, data: bytes, *, private: bool = True) -> None:
    """Create `path` (which must not exist), write and fsync `data`. Private: readable by the owner only
    from the first byte on, whatever the umask or the folder's inherited permissions allow: 0600 on
    POSIX, the owner-only ACL above on Windows (set as the file is created, not after)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = (
        _create_private_windows(path)
        if private and os.name == "nt"
        else os.open(path, flags, 0o600 if private else 0o666)
    )
    with open(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _create_private_windows(path: Path) -> int:
    """CreateFileW(CREATE_NEW) with PRIVATE_SDDL as its security descriptor; a C file descriptor."""
    if sys.platform != "win32":  # pragma: no cover - Windows only (and what mypy checks it against)
        raise OSError(errno.ENOSYS, "private ACLs are set on Windows only")
    import ctypes
    import msvcrt
    from ctypes import wintypes

    class SecurityAttributes(ctypes.Structure):
        _fields_ = [("nLength", wintypes.DWORD), ("lpSecurityDescriptor", wintypes.LPVOID),
                    ("bInheritHandle", wintypes.BOOL)]  # fmt: skip

    advapi32 = ctypes.WinDLL("advapi32", use_last_error=True)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    kernel32.CreateFileW.restype = wintypes.HANDLE
    descriptor = wintypes.LPVOID()
    if not advapi32.ConvertStringSecurityDescriptorToSecurityDescriptorW(
        PRIVATE_SDDL, 1, ctypes.byref(descriptor), None
    ):
        raise ctypes.WinError(ctypes.get_last_error())
    try:
        attributes = SecurityAttributes(ctypes.sizeof(SecurityAttributes), descriptor, False)
        generic_write, create_new, normal = 0x40000000, 1, 0x80
        handle = kernel32.CreateFileW(str(path), generic_write, 0, ctypes.byref(attributes), create_new, normal, None)
        if handle is None or handle == wintypes.HANDLE(-1).value:
            raise ctypes.WinError(ctypes.get_last_error())  # ERROR_FILE_EXISTS arrives as FileExistsError
    finally:
        kernel32.LocalFree(descriptor)
    return msvcrt.open_osfhandle(handle, os.O_WRONLY | os.O_BINARY)


def _link_new(tmp: Path, destination: Path) -> None:
    """Put tmp in place as destination only if no file of that name exists, in one step (no window in
    which another program's new file would be replaced)."""
    if os.name == "nt":
        try:
            os.rename(tmp, destination)  # Windows: never replaces
        except FileExistsError:
            check_target(destination, overwrite=False)
            raise
        return
    try:
        os.link(tmp, destination)
    except FileExistsError:
        check_target(destination, overwrite=False)
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK, errno.ENOSYS):
            raise
        check_target(destination, overwrite=False)  # no hard links on this file system (FAT, some shares)
        os.replace(tmp, destination)


def atomic_write(destination: Path, data: bytes, *, overwrite: bool = True, private: bool = True) -> None:
    """Write to a hidden side file, fsync, then rename it into place in one step.

    Devices, links, pipes and folders are refused (as root, replacing /dev/null would swap the device for
    a file of patient details). An existing file is replaced only with overwrite. Private files are
    created owner-only (see write_new_private)."""
    destination = Path(destination)
    check_target(destination, overwrite=overwrite)
    tmp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.partial")
    try:
        write_new_private(tmp, data, private=private)
        if overwrite:
            check_target(destination, overwrite=True)  # again: it may have changed while we wrote
            os.replace(tmp, destination)
        else:
            _link_new(tmp, destination)
    except OSError as exc:
        raise StoreNotWritable(f"Cannot write {destination}: {exc.strerror or exc}. Nothing was written.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def ensure_writable_folder(folder: Path) -> None:
    """Create the folder if needed and prove a file can be written in it (raises OSError if not).

    os.access is not enough: it says yes to root, and knows nothing of full disks or network shares."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    probe = folder / f".write-test-{uuid.uuid4().hex}"
    probe.write_bytes(b"")
    probe.unlink()
