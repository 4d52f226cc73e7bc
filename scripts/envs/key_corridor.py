"""KeyCorridor: a small key-and-door room in Python, served to Lantern by
scripts/env_server.py (the example of README's "Remote environments").

    #######
    #.....#     @ the agent, k the key, + the locked door in the east wall.
    #.k..@+     Pick up the key (step on it), then walk through the door.
    #.....#
    #######

Gymnasium's API: reset(seed=...) -> (obs, info); step(action) -> (obs,
reward, terminated, truncated, info). The agent and the key start on random
floor cells. Actions: 0 north, 1 east, 2 south, 3 west. Rewards: 0.5 for the
key, 1.0 for leaving through the door with it (terminated, success); the
episode is truncated after `max_steps`. Each step's caption is a
NetHack-style message in info["message"] ("You pick up a key.", "This door
is locked.", ...), the text the reward server labels.

Observations (Lantern's, actor/env.h): `chars` a 9x9 character crop centred
on the agent (' ' off the map), `stats` = [has key, x, y, time left] in
[0, 1]. `message` is left to the server (the caption's bytes).

Serve it:  scripts/env_server.py --env scripts/envs/key_corridor.py:make
Only numpy is needed; Gymnasium's spaces are used when it is installed.
"""

import numpy as np

try:
    from gymnasium import spaces
except ImportError:  # the few attributes env_server.py reads
    class _Space:
        def __init__(self, **kw):
            self.__dict__.update(kw)

    class spaces:  # noqa: N801 (mirrors gymnasium.spaces)
        @staticmethod
        def Box(low, high, shape, dtype):
            return _Space(low=low, high=high, shape=shape, dtype=dtype)

        @staticmethod
        def Discrete(n):
            return _Space(n=n)

        @staticmethod
        def Dict(d):
            return _Space(spaces=d)


NORTH, EAST, SOUTH, WEST = range(4)
MOVES = {NORTH: (0, -1), EAST: (1, 0), SOUTH: (0, 1), WEST: (-1, 0)}


class KeyCorridor:
    def __init__(self, width=5, height=3, crop=9, max_steps=30):
        self.width, self.height, self.crop = width, height, crop
        self.max_steps = max_steps
        self.door = (width + 1, (height + 1) // 2)  # in the east wall
        self.action_space = spaces.Discrete(4)
        self.observation_space = spaces.Dict({
            "chars": spaces.Box(0, 255, (crop, crop), np.uint8),
            "stats": spaces.Box(0.0, 1.0, (4,), np.float32),
        })
        self.rng = np.random.default_rng()
        self.agent = self.key = (1, 1)
        self.has_key = False
        self.t = 0

    def _cells(self):
        return [(x, y) for y in range(1, self.height + 1)
                for x in range(1, self.width + 1)]

    def reset(self, seed=None, options=None):
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        cells = self._cells()
        a, k = self.rng.choice(len(cells), size=2, replace=False)
        self.agent, self.key = cells[a], cells[k]
        self.has_key = False
        self.t = 0
        return self._obs(), {"message": "You enter a small room."}

    def step(self, action):
        if action not in MOVES:
            raise ValueError(f"action {action!r} is not 0..3")
        self.t += 1
        dx, dy = MOVES[action]
        x, y = self.agent[0] + dx, self.agent[1] + dy
        reward, terminated, message = 0.0, False, ""
        if (x, y) == self.door:
            if self.has_key:
                reward, terminated = 1.0, True
                message = "You unlock the door and leave the room."
            else:
                message = "This door is locked."
        elif 1 <= x <= self.width and 1 <= y <= self.height:
            self.agent = (x, y)
            if not self.has_key and self.agent == self.key:
                self.has_key = True
                reward = 0.5
                message = "You pick up a key."
        else:
            message = "You bump into a wall."
        truncated = not terminated and self.t >= self.max_steps
        info = {"message": message, "success": terminated}
        return self._obs(), reward, terminated, truncated, info

    def render_map(self):
        """The whole room as rows of text."""
        w, h = self.width + 2, self.height + 2
        grid = [["#"] * w for _ in range(h)]
        for x, y in self._cells():
            grid[y][x] = "."
        grid[self.door[1]][self.door[0]] = "+"
        if not self.has_key:
            grid[self.key[1]][self.key[0]] = "k"
        grid[self.agent[1]][self.agent[0]] = "@"
        return ["".join(row) for row in grid]

    def _obs(self):
        rows = self.render_map()
        r = self.crop // 2
        chars = np.full((self.crop, self.crop), ord(" "), np.uint8)
        ax, ay = self.agent
        for j in range(self.crop):
            y = ay - r + j
            if 0 <= y < len(rows):
                for i in range(self.crop):
                    x = ax - r + i
                    if 0 <= x < len(rows[y]):
                        chars[j, i] = ord(rows[y][x])
        stats = np.array([float(self.has_key), ax / (self.width + 1),
                          ay / (self.height + 1),
                          1.0 - self.t / self.max_steps], np.float32)
        return {"chars": chars, "stats": stats}


def make():
    """The factory env_server.py calls once per session."""
    return KeyCorridor()


def random_success_rate(episodes=2000, seed=0):
    """A uniformly random policy's success rate: what training must beat."""
    env, rng, wins = KeyCorridor(), np.random.default_rng(seed), 0
    for k in range(episodes):
        env.reset(seed=seed * 100003 + k)
        done = False
        while not done:
            _, _, terminated, truncated, info = env.step(int(rng.integers(4)))
            done = terminated or truncated
        wins += info["success"]
    return wins / episodes


if __name__ == "__main__":
    print(f"random policy success rate: {random_success_rate():.3f}")
