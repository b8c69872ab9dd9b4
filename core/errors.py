"""User-facing errors: anything the user can fix (a bad recipe, a missing file, a bad dataset row).

The `funreason` command prints these as one clear message and exits non-zero, with no traceback.
"""

import errno


class UserError(Exception):
    """An error the user can fix; its message names the file, key or row at fault."""

    exit_code = 2


class RecipeError(UserError):
    """The recipe YAML (or an override) is invalid."""


# OSErrors that mean the disk, not the program: a read-only or full file system, a quota, missing permissions.
DISK_ERRORS = {errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on device",
               errno.EDQUOT: "disk quota exceeded", errno.EACCES: "permission denied",
               errno.EPERM: "operation not permitted"}  # fmt: skip


def disk_error(e: OSError) -> str:
    """One line for an OSError of DISK_ERRORS, naming the path when the OS gave one."""
    path = e.filename if e.filename is not None else "a file"
    also = f" -> {e.filename2}" if e.filename2 else ""
    reason = DISK_ERRORS.get(e.errno, e.strerror)
    return f"cannot write {path}{also}: {reason} (a run needs a writable run_dir with free space)"
