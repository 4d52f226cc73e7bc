"""Tests scripts/plot.py: runs it on small CSVs of two runs, as a user would.

Run from the repository root:
  /usr/bin/python3 -m unittest discover -s tests/scripts -p 'test_*.py'
"""

import contextlib
import importlib.util
import io
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "plot.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HEADER = "wall_time,step,tag,value\n"

# Tags interleaved; step 100 of episode/return repeats (a resumed run), and
# its last value, 3.0, must win.
RUN_A = HEADER + """\
1700000000.0,0,episode/return,1.0
1700000000.0,0,episode/success_rate,0.0
1700000001.5,100,episode/return,2.0
1700000001.5,100,throughput/env_steps_per_s,500.5
1700000002.0,100,episode/return,3.0
1700000003.0,200,episode/success_rate,0.5
1700000003.0,200,loss/policy,-0.25
"""
RUN_B = HEADER + """\
1700000000.0,0,episode/return,0.0
1700000001.0,50,episode/return,1.5
1700000001.0,50,episode/success_rate,1.0
1700000001.0,50,throughput/env_steps_per_s,800
"""
COVERAGE_ROW = "1700000002.0,60,reward/annotation_coverage,0.75\n"


def load_plot():
    spec = importlib.util.spec_from_file_location("plot", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PlotTestCase(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def make_run(self, name, text):
        csv = self.dir / name / "metrics" / "learner.csv"
        csv.parent.mkdir(parents=True, exist_ok=True)
        csv.write_text(text)
        return str(self.dir / name)

    def run_plot(self, *args):
        return subprocess.run([sys.executable, str(SCRIPT), *args],
                              capture_output=True, text=True, timeout=120)

    def assert_pngs(self, stdout, directory, names):
        """stdout lists exactly directory/name for each name, each a PNG."""
        expected = [str(Path(directory) / name) for name in names]
        self.assertEqual(stdout.splitlines(), expected)
        for path in expected:
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), PNG_SIGNATURE, path)


class DefaultPlotsTest(PlotTestCase):
    def test_two_runs_without_annotation_coverage(self):
        a, b = self.make_run("a", RUN_A), self.make_run("b", RUN_B)
        result = self.run_plot(a, b)
        self.assertEqual(result.returncode, 0, result.stderr)
        plots = Path(a) / "plots"
        self.assert_pngs(result.stdout, plots,
                         ["return.png", "success.png", "throughput.png"])
        self.assertFalse((plots / "annotation_coverage.png").exists())
        self.assertEqual(result.stderr, "")

    def test_annotation_coverage_when_one_run_has_it(self):
        a = self.make_run("a", RUN_A)
        b = self.make_run("b", RUN_B + COVERAGE_ROW)
        out = self.dir / "out" / "nested"
        result = self.run_plot(a, b, "--out", str(out))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_pngs(result.stdout, out,
                         ["return.png", "success.png", "throughput.png",
                          "annotation_coverage.png"])
        self.assertFalse((Path(a) / "plots").exists())

    def test_chosen_tags(self):
        a, b = self.make_run("a", RUN_A), self.make_run("b", RUN_B)
        result = self.run_plot(a, b, "--tags", "loss/policy,episode/return")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_pngs(result.stdout, Path(a) / "plots",
                         ["loss_policy.png", "episode_return.png"])


class ErrorTest(PlotTestCase):
    """Each bad input exits 2 with one line naming the file (and line)."""

    def assert_error(self, result, pattern):
        self.assertEqual(result.returncode, 2)
        self.assertEqual(result.stdout, "")
        self.assertRegex(result.stderr, rf"\Aplot: {pattern}\n\Z")

    def test_malformed_row(self):
        a = self.make_run("a", RUN_A)
        b = self.make_run("b", HEADER + "1.0,10,episode/return,1.0\n"
                                        "1.0,twenty,episode/return,2.0\n"
                                        "1.0,30,episode/return,3.0\n")
        csv = re.escape(str(Path(b) / "metrics" / "learner.csv"))
        self.assert_error(self.run_plot(a, b),
                          rf"{csv}:3: step 'twenty' is not an integer")

    def test_wrong_field_count(self):
        a = self.make_run("a", HEADER + "1.0,10,episode/return\n")
        csv = re.escape(str(Path(a) / "metrics" / "learner.csv"))
        self.assert_error(self.run_plot(a),
                          rf"{csv}:2: expected 4 fields, got 3")

    def test_wrong_header(self):
        a = self.make_run("a", "step,tag,value\n10,episode/return,1.0\n")
        csv = re.escape(str(Path(a) / "metrics" / "learner.csv"))
        self.assert_error(self.run_plot(a), rf"{csv}:1: expected header .*")

    def test_missing_csv(self):
        missing = self.dir / "nothing"
        csv = re.escape(str(missing / "metrics" / "learner.csv"))
        self.assert_error(self.run_plot(str(missing)),
                          rf"{csv}: No such file or directory")

    def test_empty_csv(self):
        a = self.make_run("a", "")
        csv = re.escape(str(Path(a) / "metrics" / "learner.csv"))
        self.assert_error(self.run_plot(a), rf"{csv}: empty file")

    def test_header_only_csv(self):
        a = self.make_run("a", HEADER)
        csv = re.escape(str(Path(a) / "metrics" / "learner.csv"))
        self.assert_error(self.run_plot(a), rf"{csv}: no data rows .*")

    def test_chosen_tag_no_run_has(self):
        a = self.make_run("a", RUN_A)
        self.assert_error(self.run_plot(a, "--tags", "no/such"),
                          r"no run has tag 'no/such' \(tags seen: .*\)")


class ReadMetricsTest(PlotTestCase):
    """The series plot.py draws, checked in-process."""

    plot = load_plot()

    def read(self, text):
        run = self.make_run("r", text)
        return self.plot.read_metrics(str(Path(run) / "metrics" /
                                          "learner.csv"))

    def test_last_row_wins_and_steps_are_sorted(self):
        series = self.read(RUN_A + "1700000009.0,50,episode/return,9.0\n"
                                   "1700000010.0,0,episode/return,7.0\n")
        self.assertEqual(series["episode/return"],
                         ([0, 50, 100], [7.0, 9.0, 3.0]))
        self.assertEqual(series["episode/success_rate"],
                         ([0, 200], [0.0, 0.5]))

    def test_unterminated_last_line_is_skipped_only_if_broken(self):
        # A live run: the writer is mid-line when we read.
        warning = io.StringIO()
        with contextlib.redirect_stderr(warning):
            series = self.read(RUN_B + "1700000002.0,60,episode/ret")
        self.assertEqual(series["episode/return"], ([0, 50], [0.0, 1.5]))
        self.assertIn(":6: skipping unterminated last line",
                      warning.getvalue())
        series = self.read(RUN_B + "1700000002.0,60,episode/return,2.5")
        self.assertEqual(series["episode/return"],
                         ([0, 50, 60], [0.0, 1.5, 2.5]))

    def test_legend_names_clash_falls_back_to_paths(self):
        self.assertEqual(self.plot.run_names(["x/seed1", "y/seed1", "z/"]),
                         ["x/seed1", "y/seed1", "z"])


if __name__ == "__main__":
    unittest.main()
