"""Tests the pure parts of scripts/chaos.py (scripts/chaos_metrics.py): the
kill plan and every figure of its JSON line, on recorded statuses; and its
usage and missing-binary errors. No training runs here: the real chaos run
is the Chaos.Short CTest test.

Run from the repository root:
  /usr/bin/python3 -m unittest discover -s tests/scripts -p 'test_*.py'
"""

import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "chaos.py"


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cm = load("chaos_metrics")


def actor(pid, accepted, state="connected"):
    # As `lantern status` prints it: uint64 as a string.
    return {"host": f"box:{pid}", "state": state, "trajectories_accepted": str(accepted)}


class KillPlanTest(unittest.TestCase):
    def test_servers_at_thirds_and_actors_every_three_to_eight_seconds(self):
        plan = cm.kill_plan(300.0, random.Random(7))
        self.assertEqual((plan["learner"], plan["reward"], plan["end"]), (100.0, 200.0, 300.0))
        kills = plan["actor_kills"]
        self.assertGreaterEqual(len(kills), 300 // 8 - 1)
        self.assertLessEqual(len(kills), 300 // 3)
        self.assertGreaterEqual(kills[0], 3.0)
        for a, b in zip(kills, kills[1:]):
            self.assertTrue(3.0 - 1e-3 <= b - a <= 8.0 + 1e-3, (a, b))
        self.assertLess(kills[-1], 300.0 - cm.ACTOR_KILL_QUIET_END_S)

    def test_the_seed_decides_the_plan(self):
        self.assertEqual(cm.kill_plan(60, random.Random(1)), cm.kill_plan(60, random.Random(1)))
        self.assertNotEqual(cm.kill_plan(60, random.Random(1)), cm.kill_plan(60, random.Random(2)))


class StatusTest(unittest.TestCase):
    def test_num_reads_snake_camel_strings_and_omitted_fields(self):
        s = {"env_steps": "123", "trajectoriesAccepted": "7", "success_rate": 0.5,
             "updates": 4, "eta_s": "-1.5"}
        self.assertEqual(cm.num(s, "env_steps"), 123)
        self.assertEqual(cm.num(s, "trajectories_accepted"), 7)
        self.assertEqual(cm.num(s, "success_rate"), 0.5)
        self.assertEqual(cm.num(s, "updates"), 4)
        self.assertEqual(cm.num(s, "eta_s"), -1.5)
        self.assertEqual(cm.num(s, "gaps"), 0)

    def test_actor_pid_from_host(self):
        self.assertEqual(cm.actor_pid({"host": "node-1:4242"}), 4242)
        self.assertIsNone(cm.actor_pid({"host": "node-1"}))
        self.assertIsNone(cm.actor_pid({}))


class ReconnectTest(unittest.TestCase):
    def test_only_actors_delivering_before_the_kill_are_timed(self):
        status = {"actors": [actor(11, 5), actor(12, 0), actor(13, 4, "dropped"),
                             {"host": "nopid", "state": "connected",
                              "trajectories_accepted": "9"}]}
        self.assertEqual(cm.delivering_pids(status), {11})

    def test_connected_with_an_accepted_trajectory_counts_from_the_return(self):
        samples = [
            (9.0, {"actors": [actor(1, 50)]}),  # the old life: ignored
            (10.5, {"actors": [actor(1, 0), actor(2, 0, "dropped")]}),
            (11.0, {"actors": [actor(1, 3), actor(2, 0), actor(99, 5)]}),
            (13.25, {"actors": [actor(1, 9), actor(2, 1)]}),
        ]
        self.assertEqual(cm.reconnect_seconds([1, 2, 3], samples, since=10.0),
                         {1: 1.0, 2: 3.25, 3: None})

    def test_a_dropped_actor_with_old_counts_is_not_back(self):
        samples = [(11.0, {"actors": [actor(1, 5, "dropped")]})]
        self.assertEqual(cm.reconnect_seconds([1], samples, 10.0), {1: None})


class LabelsTest(unittest.TestCase):
    def test_missing_and_changed_labels_are_lost_new_ones_are_not(self):
        k = [cm.label_key(0, b"You see a key.", b""), cm.label_key(0, b"a", b""),
             cm.label_key(1, b"a", b"b"), cm.label_key(0, b"new", b"")]
        before = {k[0]: "helpful", k[1]: "unhelpful", k[2]: "first"}
        after = {k[0]: "helpful", k[2]: "second", k[3]: "helpful"}
        self.assertEqual(cm.labels_lost(before, after), 2)
        self.assertEqual(cm.labels_lost(before, {**before, k[3]: "tie"}), 0)

    def test_label_key_treats_text_as_its_bytes(self):
        self.assertEqual(cm.label_key(0, "é", ""), cm.label_key(0, "é".encode(), b""))
        self.assertNotEqual(cm.label_key(0, b"a", b""), cm.label_key(1, b"a", b""))

    def test_annotated_twice_lines_are_counted_across_files(self):
        logs = ["x info labels 3\ny warn query 12 annotated twice (label kept)\n",
                "z warn query 4 annotated twice\nannotated once\n", ""]
        self.assertEqual(cm.count_annotated_twice(logs), 2)

    def test_annotation_progressed(self):
        self.assertTrue(cm.annotation_progressed({"labels": 5, "pending": 3},
                                                 {"labels": 8, "pending": 0}))
        # Every caption labelled before the kill, none came since.
        self.assertTrue(cm.annotation_progressed({"labels": 11, "pending": 0},
                                                 {"labels": 11, "pending": 0}))
        self.assertFalse(cm.annotation_progressed({"labels": 5, "pending": 3},
                                                  {"labels": 5, "pending": 3}))
        self.assertFalse(cm.annotation_progressed({"labels": 5, "pending": 0},
                                                  {"labels": 5, "pending": 2}))


class ProgressTest(unittest.TestCase):
    def test_each_restart_needs_steps_and_updates_above_the_kill(self):
        restarts = [{"what": "learner", "at": 10.0, "env_steps": 1000, "updates": 50},
                    {"what": "actor-2", "at": 20.0, "env_steps": 3000, "updates": 90},
                    {"what": "reward_server", "at": 30.0, "env_steps": 5000, "updates": 200}]
        samples = [(9.0, {"env_steps": "1000", "updates": "50"}),
                   # Resumed from the checkpoint: below the kill's counters.
                   (12.0, {"env_steps": "900", "updates": "45"}),
                   (21.0, {"env_steps": "3500", "updates": "100"}),
                   (31.0, {"env_steps": "5000", "updates": "200"})]
        final = {"env_steps": 6000, "updates": 200}
        failed = cm.progress_failures(restarts, samples, final)
        self.assertEqual([f["what"] for f in failed], ["reward_server"])
        self.assertEqual(failed[0]["updates"], [200, 200])
        self.assertEqual(cm.progress_failures(restarts, samples,
                                              {"env_steps": 6000, "updates": 201}), [])

    def test_first_true_after(self):
        samples = [(1.0, {"reward_server_reachable": True}),
                   (5.0, {"reward_server_reachable": False}),
                   (6.5, {"rewardServerReachable": True})]
        self.assertEqual(cm.first_true_after(samples, 4.0, "reward_server_reachable"), 2.5)
        self.assertIsNone(cm.first_true_after(samples, 7.0, "reward_server_reachable"))


class FailuresTest(unittest.TestCase):
    GOOD = {"duplicates_accepted": 0, "unexplained_gaps": 0, "labels_lost": 0,
            "captions_annotated_twice": 0, "max_reconnect_s": 1.2, "progressed": True,
            "unexpected_exits": [], "errors": []}

    def test_a_clean_run_fails_nothing(self):
        self.assertEqual(cm.failures(self.GOOD), [])

    def test_each_criterion_is_named(self):
        bad = {"duplicates_accepted": 1, "unexplained_gaps": 3, "labels_lost": 2,
               "captions_annotated_twice": 1, "max_reconnect_s": 10.0, "progressed": False,
               "unexpected_exits": ["actor-1 exit -11"]}
        for key, value in bad.items():
            self.assertEqual(cm.failures(dict(self.GOOD, **{key: value})), [key], key)
        # Unknown (never measured) fails too, and errors come first.
        r = dict(self.GOOD, unexplained_gaps=None, max_reconnect_s=None,
                 errors=["lantern-learner exited with 1 during start-up"])
        self.assertEqual(cm.failures(r), ["lantern-learner exited with 1 during start-up",
                                          "unexplained_gaps", "max_reconnect_s"])


class CommandLineTest(unittest.TestCase):
    def run_chaos(self, *args):
        return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True,
                              text=True, timeout=60)

    def test_usage_errors_exit_2(self):
        self.assertEqual(self.run_chaos("--minutes", "0.1").returncode, 2)
        self.assertEqual(self.run_chaos("--annotator", "gpt").returncode, 2)

    def test_missing_binaries_fail_with_a_json_line_naming_them(self):
        with tempfile.TemporaryDirectory() as out:
            r = self.run_chaos("--bin", f"{out}/nowhere", "--out", out, "--annotator",
                               "embedding")
            self.assertEqual(r.returncode, 1, r.stderr)
            result = json.loads(r.stdout.strip().splitlines()[-1])
            self.assertIn(f"{out}/nowhere/lantern is missing", result["failures"][0])
            self.assertIn("the learner wrote no summary.json", result["failures"])


if __name__ == "__main__":
    unittest.main()
