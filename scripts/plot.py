#!/usr/bin/python3
"""Draws learning curves (PNG) from the learner's metrics of one or more runs.

Each RUN_DIR holds metrics/learner.csv in long format, with the header
  wall_time,step,tag,value
wall_time is seconds since the epoch, step counts environment steps (an
integer), tag names the series (e.g. episode/return), value is a float.
Rows are appended as training goes, tags interleaved. A resumed run may
repeat a step: the last row for a (step, tag) wins.

Usage:
  plot.py RUN_DIR [RUN_DIR ...] [--out DIR] [--tags TAG[,TAG]]
Writes into DIR (default: the first RUN_DIR's plots/):
  return.png               episode/return
  success.png              episode/success_rate, y from 0 to 1
  throughput.png           throughput/env_steps_per_s
  annotation_coverage.png  reward/annotation_coverage, only if a run has it
With --tags it draws those tags instead, one PNG each, named after the tag
with '/' replaced by '_'. Every run goes on the same figure (legend: the run
directory's name); x is environment steps. Prints the path of each PNG.
A default figure that no run has data for is skipped with a warning.

Exits 2 with one line on stderr for a missing, empty or malformed CSV
(naming the file and line) and for a --tags tag that no run has.
An unterminated last line is taken as a row still being written: if it does
not parse it is skipped with a warning, so a live run can be plotted.
"""

import argparse
import csv
import dataclasses
import io
import os
import sys

HEADER = ["wall_time", "step", "tag", "value"]
CSV_PATH = os.path.join("metrics", "learner.csv")


@dataclasses.dataclass(frozen=True)
class Plot:
    tag: str
    filename: str
    title: str
    ylabel: str
    ylim: tuple | None = None
    optional: bool = False  # skip silently when no run has the tag


DEFAULT_PLOTS = [
    Plot("episode/return", "return.png", "Episode return", "return"),
    Plot("episode/success_rate", "success.png", "Success rate",
         "success rate", ylim=(0, 1)),
    Plot("throughput/env_steps_per_s", "throughput.png", "Throughput",
         "environment steps / s"),
    Plot("reward/annotation_coverage", "annotation_coverage.png",
         "Annotation coverage", "labels / queries", optional=True),
]


class UsageError(Exception):
    """A one-line message for the user; the script exits 2."""


# --- Reading ----------------------------------------------------------------

def parse_row(row):
    """Returns (step, tag, value) from one CSV row; raises ValueError."""
    if len(row) != len(HEADER):
        raise ValueError(f"expected {len(HEADER)} fields, got {len(row)}")
    wall_time, step, tag, value = row
    try:
        float(wall_time)
    except ValueError:
        raise ValueError(f"wall_time {wall_time!r} is not a number") from None
    try:
        step = int(step)
    except ValueError:
        raise ValueError(f"step {step!r} is not an integer") from None
    if step < 0:
        raise ValueError(f"step {step} is negative")
    if not tag:
        raise ValueError("empty tag")
    try:
        value = float(value)
    except ValueError:
        raise ValueError(f"value {value!r} is not a number") from None
    return step, tag, value


def read_rows(path):
    """Returns ([(line number, row)] for the data rows of the CSV at path,
    whether its last line is unterminated), after checking the header."""
    try:
        with open(path, newline="") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"{path}: {e.strerror}") from None
    if not text.strip():
        raise UsageError(f"{path}: empty file")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    if header != HEADER:
        raise UsageError(f"{path}:1: expected header {','.join(HEADER)}, "
                         f"got {','.join(header)}")
    rows = [(reader.line_num, row) for row in reader]
    if not rows:
        raise UsageError(f"{path}: no data rows after the header")
    return rows, not text.endswith("\n")


def read_metrics(path):
    """Returns {tag: (steps, values)}, sorted by step, for the CSV at path."""
    rows, unterminated = read_rows(path)
    latest = {}
    for i, (line, row) in enumerate(rows):
        try:
            step, tag, value = parse_row(row)
        except ValueError as e:
            if unterminated and i == len(rows) - 1:
                print(f"plot: warning: {path}:{line}: skipping unterminated "
                      f"last line ({e})", file=sys.stderr)
                continue
            raise UsageError(f"{path}:{line}: {e}") from None
        latest[(tag, step)] = value  # a resumed run's later row wins
    series = {}
    for (tag, step), value in sorted(latest.items()):
        steps, values = series.setdefault(tag, ([], []))
        steps.append(step)
        values.append(value)
    return series


def run_names(run_dirs):
    """Legend labels: each directory's name, or its path where names clash."""
    names = [os.path.basename(os.path.abspath(d)) for d in run_dirs]
    return [name if names.count(name) == 1 else os.path.normpath(d)
            for name, d in zip(names, run_dirs)]


# --- Drawing ----------------------------------------------------------------

def new_figure():
    # Imported here, not at the top: matplotlib takes about a second to
    # load, and reading the CSVs (and reporting their errors) needs none.
    import matplotlib
    matplotlib.use("Agg")  # never open a display
    from matplotlib.figure import Figure
    return Figure(figsize=(8, 5), layout="tight")


def draw(plot, runs, out_dir):
    """Writes one figure with every run that has plot.tag; returns its path."""
    fig = new_figure()
    ax = fig.add_subplot()
    for name, series in runs:
        if plot.tag in series:
            steps, values = series[plot.tag]
            # A lone point draws no line; give it a marker to be seen.
            marker = "o" if len(steps) == 1 else None
            ax.plot(steps, values, label=name, marker=marker)
    ax.set_title(plot.title)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(plot.ylabel)
    if plot.ylim:
        ax.set_ylim(*plot.ylim)
    ax.grid(alpha=0.3)
    ax.legend()
    path = os.path.join(out_dir, plot.filename)
    # Write then rename, so an image viewer never shows a half-written file.
    tmp = path + ".tmp"
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, path)
    return path


def plots_for_tags(tags):
    known = {p.tag: p for p in DEFAULT_PLOTS}
    plots = []
    for tag in tags:
        filename = tag.replace("/", "_") + ".png"
        base = known.get(tag, Plot(tag, filename, tag, tag))
        plots.append(dataclasses.replace(base, filename=filename,
                                         optional=False))
    return plots


def choose_plots(plots, runs, explicit):
    """Drops plots no run has data for; an explicitly asked-for one is an
    error."""
    seen = set().union(*(series.keys() for _, series in runs))
    chosen = []
    for plot in plots:
        if plot.tag in seen:
            chosen.append(plot)
        elif explicit:
            raise UsageError(f"no run has tag {plot.tag!r} "
                             f"(tags seen: {', '.join(sorted(seen))})")
        elif not plot.optional:
            print(f"plot: warning: no run has tag {plot.tag!r}; skipping "
                  f"{plot.filename}", file=sys.stderr)
    return chosen


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Draw learning curves from runs' metrics/learner.csv.")
    parser.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    parser.add_argument("--out", metavar="DIR",
                        help="output directory (default: RUN_DIR/plots of "
                             "the first run)")
    parser.add_argument("--tags", metavar="TAG[,TAG]",
                        help="draw these tags instead of the default set")
    args = parser.parse_args(argv)
    if args.tags is not None:
        args.tags = [t for t in args.tags.split(",") if t]
        if not args.tags:
            parser.error("--tags needs at least one tag")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        runs = [(name, read_metrics(os.path.join(d, CSV_PATH)))
                for name, d in zip(run_names(args.run_dirs), args.run_dirs)]
        explicit = args.tags is not None
        plots = plots_for_tags(args.tags) if explicit else DEFAULT_PLOTS
        plots = choose_plots(plots, runs, explicit)
        out_dir = args.out or os.path.join(args.run_dirs[0], "plots")
        try:
            os.makedirs(out_dir, exist_ok=True)
        except OSError as e:
            raise UsageError(f"{out_dir}: {e.strerror}") from None
    except UsageError as e:
        print(f"plot: {e}", file=sys.stderr)
        return 2
    for plot in plots:
        print(draw(plot, runs, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
