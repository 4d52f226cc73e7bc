"""The pure parts of scripts/chaos.py: the kill plan, reading `lantern status`
JSON, and every figure of the final JSON line computed from what the run
recorded. No processes, no clock: tests/scripts/test_chaos.py checks them.
"""

import re

# Actors are killed this often (seconds, uniform) ...
ACTOR_KILL_GAP_S = (3.0, 8.0)
# ... and restarted after this pause (a new process: a new incarnation).
ACTOR_RESTART_PAUSE_S = (0.2, 1.5)
# No actor kill this close to the end: each restart must show progress
# before the final stop.
ACTOR_KILL_QUIET_END_S = 5.0
# Actors must stream again within this of the learner's return.
MAX_RECONNECT_S = 10.0
SHORTEST_MINUTES = 0.5


def kill_plan(duration_s, rng):
    """When (seconds after the chaos starts) to kill what: the learner at a
    third, the reward server at two thirds, actors every 3-8 s until
    ACTOR_KILL_QUIET_END_S before the end."""
    actor_kills = []
    t = rng.uniform(*ACTOR_KILL_GAP_S)
    while t < duration_s - ACTOR_KILL_QUIET_END_S:
        actor_kills.append(round(t, 3))
        t += rng.uniform(*ACTOR_KILL_GAP_S)
    return {"learner": duration_s / 3, "reward": 2 * duration_s / 3,
            "end": duration_s, "actor_kills": actor_kills}


def num(status, key, default=0):
    """A number from protobuf JSON: snake_case or camelCase key, int64 and
    uint64 printed as strings, zero fields possibly omitted."""
    camel = re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key)
    value = status.get(key, status.get(camel, default))
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return float(value)
    return value


def actor_pid(info):
    """The process id in an ActorInfo's host ("host:pid"), or None."""
    host = info.get("host", "")
    tail = host.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None


def delivering_pids(status):
    """The pids of the actors a learner status shows connected and with a
    trajectory accepted: those whose reconnect a learner restart tests."""
    return {actor_pid(info) for info in status.get("actors", [])
            if info.get("state") == "connected"
            and num(info, "trajectories_accepted") > 0} - {None}


def reconnect_seconds(pids, samples, since):
    """For each actor pid running when the learner came back (at `since`),
    the seconds until a status sample shows it connected with a trajectory
    accepted in the new life; None if no sample does. `samples` are
    (time, learner status) pairs, oldest first."""
    out = {pid: None for pid in pids}
    for t, status in samples:
        if t < since:
            continue
        for info in status.get("actors", []):
            pid = actor_pid(info)
            if (pid in out and out[pid] is None
                    and info.get("state") == "connected"
                    and num(info, "trajectories_accepted") > 0):
                out[pid] = round(t - since, 3)
    return out


def label_key(is_pair, first, second):
    """A query as the label store keys it (captions are BLOBs; text, should
    a row hold one, compares by its UTF-8 bytes)."""
    def as_bytes(v):
        return v.encode() if isinstance(v, str) else bytes(v)
    return (int(is_pair), as_bytes(first), as_bytes(second))


def labels_lost(before, after):
    """Labels in `before` (key -> label) that `after` lacks or holds with
    another label."""
    return sum(1 for k, label in before.items() if after.get(k) != label)


def count_annotated_twice(texts):
    """Lines the reward server logs when an annotation arrives for a query
    that already has a label."""
    return sum(line.count("annotated twice") > 0
               for text in texts for line in text.splitlines())


def progress_failures(restarts, samples, final):
    """Restarts after which the learner's env steps or updates never rose
    above what they were at the kill. `restarts`: dicts with "what", "at"
    and the "env_steps"/"updates" seen last before the kill; `samples`:
    (time, status); `final`: the summary's counters, after every sample."""
    failed = []
    for r in restarts:
        later = [s for t, s in samples if t > r["at"]] + [final]
        steps = max(num(s, "env_steps") for s in later)
        updates = max(num(s, "updates") for s in later)
        if steps <= r["env_steps"] or updates <= r["updates"]:
            failed.append({"what": r["what"], "at": r["at"],
                           "env_steps": [r["env_steps"], steps],
                           "updates": [r["updates"], updates]})
    return failed


def first_true_after(samples, since, key):
    """Seconds from `since` to the first sample whose `key` is true."""
    for t, status in samples:
        if t >= since and status.get(key, status.get(
                re.sub(r"_([a-z])", lambda m: m.group(1).upper(), key))):
            return round(t - since, 3)
    return None


def annotation_progressed(before, end):
    """After the reward server's restart the labels rose, or there was
    nothing to annotate: no query pending at the kill nor at the end (the
    grid task has few distinct captions; once each is labelled, none come).
    `before`/`end`: {"labels": n, "pending": n} from the label store."""
    if end["labels"] > before["labels"]:
        return True
    return before["pending"] == 0 and end["pending"] == 0


def failures(r):
    """The names of the criteria the result `r` fails."""
    out = list(r.get("errors", []))
    checks = [
        ("duplicates_accepted", r["duplicates_accepted"] == 0),
        ("unexplained_gaps", r["unexplained_gaps"] == 0),
        ("labels_lost", r["labels_lost"] == 0),
        ("captions_annotated_twice", r["captions_annotated_twice"] == 0),
        ("max_reconnect_s", r["max_reconnect_s"] is not None
         and r["max_reconnect_s"] < MAX_RECONNECT_S),
        ("progressed", r["progressed"]),
        ("unexpected_exits", not r.get("unexpected_exits")),
    ]
    return out + [name for name, ok in checks if not ok]
