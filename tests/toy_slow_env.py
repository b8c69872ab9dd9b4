"""The toy library with one tool that never answers, for the set-aside tests (tests/synth/test_tools_set_aside.py).

    synth.environments: ["tests.toy_slow_env:HangingLibrary"]

`catalogue_sync` sleeps for an hour unless its branch is "now"; `HangingLibrary.calls` counts how often it was
entered in this process, whatever the time limit did to the call afterwards.
"""

from __future__ import annotations

import time

from tests.toy_env import ToyLibrary


class HangingLibrary(ToyLibrary):
    calls = 0

    def catalogue_sync(self, branch: str) -> dict:
        """Synchronize the catalogue with a branch library.

        Args:
            branch (str): Branch name.

        Returns:
            synced (bool): Whether the catalogues now agree.
        """
        HangingLibrary.calls += 1
        if branch != "now":
            time.sleep(3600)
        return {"synced": True}
