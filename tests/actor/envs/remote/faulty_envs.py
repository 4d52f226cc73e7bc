"""Environments that fail, for tests of scripts/env_server.py and RemoteEnv.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                "..", "scripts", "envs"))
from key_corridor import KeyCorridor  # noqa: E402


class Collapsing(KeyCorridor):
    """Raises on its third step."""

    def step(self, action):
        if self.t == 2:
            raise ValueError("the dungeon collapsed")
        return super().step(action)


class WrongShape(KeyCorridor):
    """Its observations stop fitting its declared space after a reset."""

    def step(self, action):
        obs, *rest = super().step(action)
        obs["chars"] = obs["chars"][:5, :5]
        return (obs, *rest)


def collapsing():
    return Collapsing()


def wrong_shape():
    return WrongShape()
