"""User-facing errors: anything the user can fix (a bad recipe, a missing file, a bad dataset row).

The `funreason` command prints these as one clear message and exits non-zero, with no traceback.
"""


class UserError(Exception):
    """An error the user can fix; its message names the file, key or row at fault."""

    exit_code = 2


class RecipeError(UserError):
    """The recipe YAML (or an override) is invalid."""
