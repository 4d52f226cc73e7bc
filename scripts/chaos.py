#!/usr/bin/python3
"""A real training under fire: the learner, the reward server and four
actors (the real llama-server as annotator when one is built, else the
embedding annotator) on 127.0.0.1, while a random actor is SIGKILLed every
3-8 s and restarted, the learner is SIGKILLed once (at a third) and the
reward server once (at two thirds), each restarted on its address.

Usage: scripts/chaos.sh [--minutes M] [--bin DIR] [--seed S] [--actors N]
                        [--annotator auto|embedding|llm] [--out DIR] [--keep]

Progress goes to stderr; the last stdout line is one JSON object:
trajectories_accepted (all learner lives), duplicates_accepted (trajectories
trained on twice), unexplained_gaps (the final learner's missing seqs: a
killed actor's unsent data is a tail, never a gap), labels_lost (labels in
the store before the reward server's kill, missing or changed after),
captions_annotated_twice ("annotated twice" log lines + queries with two
labels), learner_downtime_s (kill to answering `lantern status`),
max_reconnect_s (the learner's return to each running actor streaming
again), progressed (env steps and updates rose past their value at every
kill, the learner reached the restarted reward server, annotation went on),
the details, and "failures" naming each failed criterion. Exits 1 when one
fails or a process cannot be started, 2 on a usage error. The run directory
is kept on failure or with --keep (always with --out).
"""

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import chaos_metrics as cm  # noqa: E402
from chaos_procs import (CONFIG, ROOT, START_TIMEOUT_S, Proc, StartError,  # noqa: E402
                         free_port, lantern_status, llm_paths, log, now, read_files,
                         read_store, start_llm)

RECONNECT_WATCH_S = 30  # how long to wait for actors after the learner's return


class Chaos:
    def __init__(self, args):
        self.args, self.bin = args, os.path.abspath(args.bin)
        self.rng = random.Random(args.seed)
        self.procs, self.actors, self.pending = {}, [], []
        self.samples, self.lives, self.restarts = [], [], []
        self.errors, self.unexpected = [], []
        self.actor_kills, self.annotator = 0, None
        self.learner_downtime = self.reconnect = self.run_dir = None
        self.store_before, self.reward_back, self.reward_downtime = None, None, None
        self.lost = 0

    # -- set-up ------------------------------------------------------------
    def set_up(self):
        a = self.args
        self.root = os.path.abspath(a.out) if a.out else tempfile.mkdtemp(
            prefix="lantern_chaos_")
        if os.path.exists(f"{self.root}/chaos"):  # the learner would resume from it
            raise StartError(f"{self.root}/chaos exists: give a fresh --out")
        self.run_dir = f"{self.root}/chaos"
        err_dir = f"{self.root}/stderr"
        os.makedirs(err_dir, exist_ok=True)
        for name in ("lantern", "lantern-learner", "lantern-actor",
                     "lantern-reward-server"):
            if not os.access(f"{self.bin}/{name}", os.X_OK):
                raise StartError(f"{self.bin}/{name} is missing: build first "
                                 "(scripts/build.sh) or pass --bin DIR")
        self.learner_addr = f"127.0.0.1:{free_port()}"
        self.reward_addr = f"127.0.0.1:{free_port()}"
        annotator = "  kind: embedding\n"
        paths = None if a.annotator == "embedding" else llm_paths(a.annotator == "llm")
        if paths:
            self.procs["llm"], url = start_llm(*paths, err_dir)
            annotator = (
                f"  kind: llm\n  url: {url}\n  timeout_s: 20\n"
                "  backoff_initial_s: 0.1\n  backoff_max_s: 1\n"
                f"  classification_prompt: {ROOT}/configs/prompts/classify_oni.txt\n"
                f"  ranking_prompt: {ROOT}/configs/prompts/rank_motif.txt\n")
        self.annotator = "llm" if paths else "embedding"
        self.config = f"{self.root}/config.yaml"
        with open(self.config, "w") as f:
            f.write(CONFIG.format(root=self.root, seed=a.seed,
                                  learner=self.learner_addr,
                                  reward=self.reward_addr, annotator=annotator))
        check = subprocess.run([f"{self.bin}/lantern", "check-config", self.config],
                               capture_output=True, text=True, timeout=60)
        if check.returncode != 0:
            raise StartError(f"the config is refused: {check.stderr.strip()}")
        role = ["--config", self.config]
        self.procs["reward"] = Proc(
            "reward", [f"{self.bin}/lantern-reward-server", *role,
                       "--listen", self.reward_addr], err_dir)
        self.procs["learner"] = Proc(
            "learner", [f"{self.bin}/lantern-learner", *role,
                        "--reward", self.reward_addr], err_dir)
        self.actors = [Proc(f"actor-{i}", [
            f"{self.bin}/lantern-actor", *role, "--learner", self.learner_addr,
            "--index", str(i)], err_dir) for i in range(a.actors)]

    # -- processes ---------------------------------------------------------
    def status(self, addr):
        return lantern_status(self.bin, addr)

    def start_server(self, key, addr, role):
        """Starts it and waits until it answers `lantern status` as `role`."""
        proc = self.procs[key]
        proc.start()
        deadline = now() + START_TIMEOUT_S
        while now() < deadline:
            if not proc.alive():
                raise StartError(f"{proc.name} exited with {proc.p.returncode} "
                                 f"during start-up:\n{proc.tail()}")
            if self.status(addr)[0] == role:
                return now()
            time.sleep(0.2)
        raise StartError(f"{proc.name} did not serve on {addr} within "
                         f"{START_TIMEOUT_S} s:\n{proc.tail()}")

    def poll(self):
        role, s = self.status(self.learner_addr)
        if role == "learner":
            self.samples.append((now(), s))
            self.lives[-1]["last"] = s
        return s

    def last(self):
        return self.lives[-1]["last"] or self.poll() or {}

    def check_deaths(self):
        """A process that died without being killed is a failure; it is
        started again so the run goes on."""
        for key, addr, role in (("learner", self.learner_addr, "learner"),
                                ("reward", self.reward_addr, "reward_server")):
            proc = self.procs[key]
            if not proc.alive():
                self.unexpected.append(f"{proc.name} exit {proc.p.returncode} at {now():.1f}s")
                log(f"{proc.name} died by itself:\n{proc.tail()}")
                if key == "learner":
                    self.lives[-1]["ended"] = "died"
                    self.lives.append({"last": None})
                self.start_server(key, addr, role)
        waiting = {i for _, i in self.pending}
        for i, proc in enumerate(self.actors):
            if i not in waiting and not proc.alive():
                self.unexpected.append(f"{proc.name} exit {proc.p.returncode} at {now():.1f}s")
                log(f"{proc.name} died by itself:\n{proc.tail()}")
                proc.start()

    def note_restart(self, what):
        s = self.last()
        self.restarts.append({"what": what, "at": now(),
                              "env_steps": cm.num(s, "env_steps"),
                              "updates": cm.num(s, "updates")})

    # -- the kills ---------------------------------------------------------
    def kill_actor(self):
        waiting = {i for _, i in self.pending}
        running = [i for i, p in enumerate(self.actors) if p.alive() and i not in waiting]
        if not running:
            return
        i = self.rng.choice(running)
        self.note_restart(f"actor-{i}")
        self.actors[i].stop(signal.SIGKILL, 10)
        self.actor_kills += 1
        self.pending.append((now() + self.rng.uniform(*cm.ACTOR_RESTART_PAUSE_S), i))
        log(f"SIGKILL actor-{i}")

    def restart_due_actors(self, everyone=False):
        for due, i in list(self.pending):
            if everyone or now() >= due:
                self.pending.remove((due, i))
                self.actors[i].start()

    def kill_learner(self):
        self.restart_due_actors(everyone=True)
        # Only actors delivering to the old learner reconnect; one started
        # just now would be timed from its own start-up (torch, first unroll).
        delivering = cm.delivering_pids(self.poll() or {})
        self.note_restart("learner")
        log("SIGKILL learner")
        killed = now()
        self.procs["learner"].stop(signal.SIGKILL, 10)
        self.lives[-1]["ended"] = "SIGKILL"
        self.lives.append({"last": None})
        back = self.start_server("learner", self.learner_addr, "learner")
        self.learner_downtime = round(back - killed, 3)
        pids = [p.pid for p in self.actors if p.alive() and p.pid in delivering]
        log(f"learner back after {self.learner_downtime} s; watching {len(pids)} actors")
        while now() < back + RECONNECT_WATCH_S:
            self.poll()
            self.reconnect = cm.reconnect_seconds(pids, self.samples, back)
            if all(v is not None for v in self.reconnect.values()):
                break
            time.sleep(0.25)
        log(f"actors streaming again after {sorted(self.reconnect.values(), key=str)} s")

    def kill_reward(self):
        self.store_before = read_store(f"{self.run_dir}/labels.sqlite")
        self.note_restart("reward_server")
        log(f"SIGKILL reward server ({len(self.store_before['labels'])} labels, "
            f"{self.store_before['pending']} pending)")
        killed = now()
        self.procs["reward"].stop(signal.SIGKILL, 10)
        back = self.start_server("reward", self.reward_addr, "reward_server")
        self.reward_back, self.reward_downtime = back, round(back - killed, 3)
        after = read_store(f"{self.run_dir}/labels.sqlite")
        self.lost = cm.labels_lost(self.store_before["labels"], after["labels"])
        log(f"reward server back after {self.reward_downtime} s; {self.lost} labels lost")

    # -- the run -----------------------------------------------------------
    def run(self):
        self.set_up()
        log(f"run directory {self.run_dir}; annotator {self.annotator}; seed {self.args.seed}")
        self.start_server("reward", self.reward_addr, "reward_server")
        self.lives.append({"last": None})
        self.start_server("learner", self.learner_addr, "learner")
        for p in self.actors:
            p.start()
        deadline = now() + START_TIMEOUT_S
        while True:  # the clock starts once training does
            self.check_deaths()
            s = self.poll() or {}
            if cm.num(s, "updates") > 0 and cm.num(s, "connected_actors") == len(self.actors):
                break
            if now() > deadline:
                raise StartError(f"no training within {START_TIMEOUT_S} s: {s}")
            time.sleep(0.5)
        duration = self.args.minutes * 60
        plan = cm.kill_plan(duration, self.rng)
        log(f"training; chaos for {duration:.0f} s, {len(plan['actor_kills'])} actor kills planned")
        start, kills, report = now(), list(plan["actor_kills"]), 0.0
        done = set()
        while now() - start < plan["end"]:
            s = self.poll()
            if now() >= report:
                report = now() + 10
                log("the learner does not answer" if s is None else f"steps={cm.num(s, 'env_steps')} updates={cm.num(s, 'updates')} "
                    f"accepted={cm.num(s, 'trajectories_accepted')} "
                    f"actors={cm.num(s, 'connected_actors')} gaps={cm.num(s, 'gaps')}")
            self.check_deaths()
            self.restart_due_actors()
            for what, kill in (("learner", self.kill_learner), ("reward", self.kill_reward)):
                if what not in done and now() - start >= plan[what]:
                    done.add(what)
                    kill()
                    # Kills missed while it was down are skipped, not bunched.
                    kills = [k for k in kills if k > now() - start]
            if kills and now() - start >= kills[0]:
                kills.pop(0)
                self.kill_actor()
            time.sleep(0.5)

    def shut_down(self):
        """Actors, then the learner (summary.json), then the reward server."""
        running = [p for p in self.actors if p.alive()]
        for p in running:  # all at once, then wait for each
            p.p.send_signal(signal.SIGTERM)
        codes = [p.stop(None, 20) for p in running]
        if any(c != 0 for c in codes):
            self.errors.append(f"actors exited with {codes} on SIGTERM")
        learner = self.procs.get("learner")
        if learner and learner.alive():
            code = learner.stop(signal.SIGTERM, 120)
            if code != 0:
                self.errors.append(f"learner exited with {code} on SIGTERM")
        for key in ("reward", "llm"):
            if key in self.procs and self.procs[key].alive():
                code = self.procs[key].stop(signal.SIGTERM, 30)
                if code != 0 and key == "reward":
                    self.errors.append(f"reward server exited with {code} on SIGTERM")

    def kill_all(self):
        if self.procs.get("learner") and self.procs["learner"].alive():
            self.lives[-1]["ended"] = "SIGKILL at exit"
        for p in self.actors + list(self.procs.values()):
            if p.alive():
                p.p.kill()
                p.p.wait()

    def result(self):
        rd = self.run_dir or "/nonexistent"  # nothing ran: read no other run
        try:
            with open(f"{rd}/summary.json") as f:
                summary = json.load(f)
        except (OSError, ValueError):
            summary = None
            self.errors.append("the learner wrote no summary.json")
        lives = [l["last"] or {} for l in self.lives]
        if summary is not None and lives:
            lives[-1] = summary
        keys = ("trajectories_accepted", "consumed_twice", "gaps", "env_steps", "updates")
        life_rows = [dict({k: cm.num(s, k) for k in keys},
                          ended=l.get("ended", "SIGTERM")) for s, l in zip(lives, self.lives)]
        try:
            store = read_store(f"{rd}/labels.sqlite")
        except sqlite3.Error as e:
            store = {"labels": {}, "pending": 0, "doubled": 0}
            self.errors.append(f"cannot read the label store: {e}")
        lost, progress, reachable = self.lost, [], None
        annotated = progressed = False
        if self.store_before is not None and self.reward_back is not None:
            lost = max(lost, cm.labels_lost(self.store_before["labels"], store["labels"]))
            end = {"labels": len(store["labels"]), "pending": store["pending"]}
            before = {"labels": len(self.store_before["labels"]),
                      "pending": self.store_before["pending"]}
            annotated = cm.annotation_progressed(before, end)
            reachable = cm.first_true_after(self.samples, self.reward_back,
                                            "reward_server_reachable")
        if summary is not None:
            progress = cm.progress_failures(self.restarts, self.samples, summary)
            progressed = (not progress and annotated and reachable is not None
                          and summary.get("env_steps", 0) > 0 and summary.get("updates", 0) > 0
                          and any(r["what"] == "learner" for r in self.restarts))
        logs = read_files(f"{rd}/logs/reward*.log")
        reconnect = self.reconnect or {}
        r = {
            # Distinct over the run (the final ledger holds the restored
            # checkpoint's); the per-life counts include resends of what a
            # killed learner had accepted but not checkpointed.
            "trajectories_accepted": summary.get("trajectories_in_ledger")
            if summary else None,
            "duplicates_accepted": sum(l["consumed_twice"] for l in life_rows),
            "unexplained_gaps": summary.get("gaps") if summary else None,
            "labels_lost": lost,
            "captions_annotated_twice": cm.count_annotated_twice(logs) + store["doubled"],
            "learner_downtime_s": self.learner_downtime,
            "max_reconnect_s": None if not reconnect or None in reconnect.values()
            else max(reconnect.values()),
            "progressed": progressed,
            "minutes": self.args.minutes, "actor_kills": self.actor_kills,
            "annotator": self.annotator, "seed": self.args.seed,
            "run_dir": self.run_dir,
            "reward_downtime_s": self.reward_downtime,
            "learner_sees_reward_server_s": reachable,
            "labels": {"before_reward_kill": len(self.store_before["labels"])
                       if self.store_before else None, "end": len(store["labels"]),
                       "pending_end": store["pending"], "annotation_progressed": annotated},
            "reconnect_s": {str(k): v for k, v in reconnect.items()},
            "lives": life_rows, "progress_failures": progress,
            "unexpected_exits": self.unexpected, "errors": self.errors,
        }
        r["failures"] = cm.failures(r)
        return r


def interrupted(signum, frame):
    # SIGTERM (e.g. CTest's timeout) unwinds like Ctrl-C: children are killed.
    raise KeyboardInterrupt()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--bin", default=f"{ROOT}/build/bin")
    ap.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1, 10**6))
    ap.add_argument("--actors", type=int, default=4)
    ap.add_argument("--annotator", choices=["auto", "embedding", "llm"], default="auto")
    ap.add_argument("--out", help="run root (default: a fresh temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the run directory on success")
    args = ap.parse_args()
    if args.minutes < cm.SHORTEST_MINUTES or args.actors < 1:
        ap.error(f"--minutes must be at least {cm.SHORTEST_MINUTES} and --actors at least 1")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    chaos = Chaos(args)
    try:
        try:
            chaos.run()
        except StartError as e:
            chaos.errors.append(str(e))
            log(f"error: {e}")
        except Exception as e:  # still stop the run and print the JSON line
            traceback.print_exc()
            chaos.errors.append(f"chaos.py: {e!r}")
        chaos.shut_down()
    except KeyboardInterrupt:
        chaos.errors.append("interrupted")
    finally:
        chaos.kill_all()
    r = chaos.result()
    print(json.dumps(r), flush=True)
    if not r["failures"] and not args.keep and not args.out and r["run_dir"]:
        shutil.rmtree(os.path.dirname(r["run_dir"]), ignore_errors=True)
    return 1 if r["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
