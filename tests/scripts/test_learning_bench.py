"""Tests scripts/learning_report.py, the learning benchmark's table, PNG and
JSON, on synthetic runs (no training): what scripts/learning_bench.sh calls
once every run has finished.

Run from the repository root:
  /usr/bin/python3 -m unittest discover -s tests/scripts -p 'test_*.py'
"""

import importlib.util
import json
import math
import sqlite3
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "learning_report.py"
BENCH = ROOT / "scripts" / "learning_bench.sh"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER = "wall_time,step,tag,value\n"
BUDGET = 1000


def csv_text(points, extra_tags=True):
    """Learner CSV rows: (step, success rate); the return equals the success
    rate, as on the sparse task; other tags interleaved."""
    rows = [HEADER]
    for i, (step, success) in enumerate(points):
        t = 1700000000 + i
        rows.append(f"{t},{step},episode/success_rate,{success}\n")
        if extra_tags:
            rows.append(f"{t},{step},loss/policy,-0.5\n")
        rows.append(f"{t},{step},episode/return,{success}\n")
    return "".join(rows)


def load_report():
    spec = importlib.util.spec_from_file_location("learning_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LearningReportTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self._tmp.name)
        self.out = self.dir / "out"

    def tearDown(self):
        self._tmp.cleanup()

    def make_run(self, name, points, summary=None, config=None):
        run = self.dir / "runs" / name
        (run / "metrics").mkdir(parents=True)
        (run / "metrics" / "learner.csv").write_text(csv_text(points))
        if summary is not None:
            (run / "summary.json").write_text(json.dumps(summary))
        if config is not None:
            (run / "config.yaml").write_text(config)
        return str(run)

    def report(self, *specs, budget=BUDGET):
        proc = subprocess.run(
            [sys.executable, str(SCRIPT), "--budget", str(budget), "--out",
             str(self.out), "--wall-s", "90", "--command", "test", *specs],
            capture_output=True, text=True, timeout=120)
        return proc

    def standard_runs(self):
        """none stays at or below 0.1; classification crosses 0.5 at step 200
        (seed 1) and 400 (seed 2) and ends at 0.8 and 1.0."""
        summary = {"stop_reason": "max_env_steps", "wall_s": 42.0,
                   "env_steps_per_s": 25000.0, "labels_total": 17}
        return [
            "none:1:" + self.make_run(
                "none-s1", [(0, 0.0), (500, 0.0), (1000, 0.1)], summary),
            "none:2:" + self.make_run(
                "none-s2", [(0, 0.0), (500, 0.05), (1000, 0.0)], summary),
            "classification:1:" + self.make_run(
                "cls-s1", [(0, 0.0), (100, 0.3), (200, 0.5), (600, 0.7),
                           (1000, 0.8)], summary),
            # A row past the budget does not count.
            "classification:2:" + self.make_run(
                "cls-s2", [(0, 0.0), (300, 0.45), (400, 0.6), (1000, 1.0),
                           (1024, 0.0)], summary),
        ]

    def test_table_png_and_json(self):
        proc = self.report(*self.standard_runs())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(result["benchmark"], "learning")
        self.assertEqual(result["budget"], BUDGET)
        self.assertEqual(list(result["variants"]), ["none", "classification"])

        cls = result["variants"]["classification"]
        self.assertAlmostEqual(cls["success"]["mean"], 0.9)
        self.assertAlmostEqual(cls["success"]["spread"], math.sqrt(0.02))
        self.assertEqual(cls["success"]["per_seed"], [0.8, 1.0])
        self.assertAlmostEqual(cls["return"]["mean"], 0.9)
        self.assertEqual(cls["steps_to_50"]["per_seed"], [200, 400])
        self.assertEqual(cls["steps_to_50"]["mean"], 300)
        self.assertEqual(cls["steps_to_50"]["reached"], 2)

        none = result["variants"]["none"]
        self.assertAlmostEqual(none["success"]["mean"], 0.05)
        self.assertEqual(none["steps_to_50"]["per_seed"], [None, None])
        self.assertIsNone(none["steps_to_50"]["mean"])
        self.assertEqual(result["acceptance"]["best_oni"], "classification")
        self.assertTrue(result["acceptance"]["holds"])

        md = (self.out / "learning.md").read_text()
        self.assertIn("| 0.90 ± 0.14 | 0.90 ± 0.14 | 300 ± 141 |", md)
        self.assertIn("| 0.05 ± 0.07 | 0.05 ± 0.07 | not reached |", md)
        self.assertIn("**holds**", md)
        self.assertIn("Total wall time: 1.5 min", md)
        self.assertIn("| cls-s2 | 2 | 1.00 | 1.00 | 400 | 25,000 | 42 | 17 "
                      "| max_env_steps |", md)
        self.assertIn("![success rate against env steps](learning.png)", md)
        with open(self.out / "learning.png", "rb") as f:
            self.assertEqual(f.read(8), PNG_SIGNATURE)
        self.assertFalse(list(self.out.glob("*.tmp")))

    def test_short_and_missing_runs_are_listed_not_counted(self):
        specs = self.standard_runs()
        specs.append("classification:3:" + self.make_run(
            "cls-s3", [(0, 0.0), (700, 0.9)]))  # stopped before the budget
        specs.append("ranking:1:" + str(self.dir / "runs" / "never-started"))
        proc = self.report(*specs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        cls = result["variants"]["classification"]
        self.assertEqual(cls["seeds"], [1, 2])
        self.assertEqual(cls["failed_seeds"], [3])
        self.assertAlmostEqual(cls["success"]["mean"], 0.9)
        ranking = result["variants"]["ranking"]
        self.assertIsNone(ranking["success"]["mean"])
        self.assertEqual(ranking["failed_seeds"], [1])
        ok = {r["name"]: r["ok"] for r in result["runs"]}
        self.assertFalse(ok["cls-s3"])
        self.assertFalse(ok["never-started"])
        md = (self.out / "learning.md").read_text()
        self.assertIn("stopped at 700 env steps, before the budget", md)
        self.assertIn("no metrics (the run failed)", md)

    def test_claim_does_not_hold_when_baseline_learns(self):
        proc = self.report(
            "none:1:" + self.make_run("n", [(0, 0.0), (1000, 0.6)]),
            "retrieval:1:" + self.make_run("r", [(0, 0.0), (1000, 0.9)]))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertFalse(result["acceptance"]["holds"])
        self.assertIn("**does not hold**",
                      (self.out / "learning.md").read_text())

    def test_task_described_from_the_effective_config(self):
        config = (
            "env:\n  task: sparse\n  layout: key_door\n  width: 20\n"
            "  height: 10\n  crop: 9\n  max_steps: 100\n"
            "  distractor_prob: 0.2\n"
            "actor:\n  count: 2\n  num_envs: 16\n  unroll: 32\n"
            "learner:\n  batch_size: 32\n  learning_rate: 0.001\n"
            "  entropy_coef: 0.01\n"
            "reward:\n  extrinsic_coef: 10\n  intrinsic_coef: 1\n"
            "  count_exponent: 3\n")
        proc = self.report("none:1:" + self.make_run(
            "n", [(0, 0.0), (1000, 0.1)], config=config))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        md = (self.out / "learning.md").read_text()
        self.assertIn("20×10 floor cells", md)
        self.assertIn("distractor probability 0.2", md)
        # One variant only: the claim cannot be judged.
        self.assertIsNone(
            json.loads(proc.stdout.strip().splitlines()[-1])["acceptance"])

    def test_labels_and_annotator_from_the_run(self):
        config = ("annotator:\n  kind: embedding\n  goal: find the key\n"
                  "  similarity_threshold: 0.7\n")
        run = self.make_run("c", [(0, 0.0), (1000, 0.9)], config=config)
        db = sqlite3.connect(str(Path(run) / "labels.sqlite"))
        db.executescript(
            "CREATE TABLE queries (id INTEGER PRIMARY KEY, is_pair INTEGER,"
            " first BLOB, second BLOB);"
            "CREATE TABLE labels (id INTEGER PRIMARY KEY, query_id INTEGER,"
            " label TEXT);")
        for i, (caption, label) in enumerate([
                ("You see a key.", "helpful"),
                ("You hear a door open.", "helpful"),
                ("You hear a bird.", "unhelpful")]):
            db.execute("INSERT INTO queries VALUES (?, 0, ?, x'')",
                       (i, caption.encode()))
            db.execute("INSERT INTO labels VALUES (?, ?, ?)", (i, i, label))
        db.execute("INSERT INTO queries VALUES (9, 1, x'41', x'42')")
        db.execute("INSERT INTO labels VALUES (9, 9, 'first')")
        db.commit()
        db.close()
        proc = self.report("classification:1:" + run)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual(result["helpful"],
                         ["You hear a door open.", "You see a key."])
        self.assertEqual(result["unhelpful"], ["You hear a bird."])
        self.assertIn("above 0.7", result["annotator"])
        md = (self.out / "learning.md").read_text()
        self.assertIn("Distractors labelled helpful (they say nothing about "
                      "progress): “You hear a door open.”", md)

    def test_malformed_csv_and_bad_spec_exit_2(self):
        bad = self.dir / "runs" / "bad"
        (bad / "metrics").mkdir(parents=True)
        (bad / "metrics" / "learner.csv").write_text(
            HEADER + "1,notastep,episode/success_rate,0.5\n2,3,x,4\n")
        proc = self.report(f"none:1:{bad}")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("learner.csv:2", proc.stderr)
        proc = self.report("none-without-seed")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("VARIANT:SEED:RUN_DIR", proc.stderr)

    def test_helpers(self):
        m = load_report()
        series = ([0, 100, 200, 300], [0.1, 0.6, 0.4, 0.9])
        self.assertEqual(m.value_at(series, 250), (200, 0.4))
        self.assertIsNone(m.value_at(series, -1))
        self.assertEqual(m.first_reaching(series, 300, 0.5), 100)
        self.assertIsNone(m.first_reaching(series, 50, 0.5))
        self.assertEqual(m.mean_spread([1.0]), (1.0, 0.0, 1.0, 1.0))
        self.assertEqual(m.mean_spread([None]), (None, None, None, None))
        xs, ys = m.mean_curve([[[0, 0.0], [100, 1.0]],
                               [[0, 0.0], [50, 0.0], [100, 0.0]]], 100,
                              points=3)
        self.assertEqual(list(xs), [0, 50, 100])
        self.assertEqual(list(ys), [0.0, 0.25, 0.5])


class LearningBenchUsageTest(unittest.TestCase):
    """The shell script's argument checks (they run before any training)."""

    def run_bench(self, *args):
        return subprocess.run(["bash", str(BENCH), *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)

    def test_help(self):
        proc = self.run_bench("--help")
        self.assertEqual(proc.returncode, 0)
        self.assertIn("--llm URL", proc.stdout)

    def test_bad_arguments(self):
        for args, message in [
                (["--variants", "none,curiosity"], "unknown variant"),
                (["--seeds", "0"], "--seeds"),
                (["--steps", "many"], "--steps"),
                (["--frobnicate"], "unknown argument"),
                (["--out"], "--out needs a value")]:
            proc = self.run_bench(*args)
            self.assertEqual(proc.returncode, 2, args)
            self.assertIn(message, proc.stderr)


if __name__ == "__main__":
    unittest.main()
