#!/usr/bin/python3
"""Aggregates the learning benchmark's runs into a table, a PNG and JSON.

scripts/learning_bench.sh trains each reward variant (none, retrieval,
classification, ranking) with several seeds to a fixed env-step budget and
then calls this script on the run directories. Each RUN_DIR holds
metrics/learner.csv (long format: wall_time,step,tag,value; read with
scripts/plot.py's reader) and, when the run ended normally, summary.json.

Usage:
  learning_report.py --budget STEPS --out DIR [--wall-s S] [--command TEXT]
                     [--task TEXT] [--annotator TEXT] VARIANT:SEED:RUN_DIR ...

Per run, at the budget: the last row of episode/success_rate and of
episode/return at or below the budget (both are over the last 100 episodes;
the return is the environment's reward, without the intrinsic reward). A run
whose metrics never reach the budget (it failed or was stopped early) is
listed but left out of the figures. Steps to 50 % success: the first row at or
below the budget with success rate >= 0.5.

Writes DIR/learning.md (the task, the shared settings and the annotator from
the first run's effective config.yaml; per variant: mean ± spread over seeds,
spread being the sample standard deviation; the annotator's labels from a
retrieval or classification run's labels.sqlite, distractors marked; then one
row per run) and DIR/learning.png
(success rate against env steps, a colour per variant, seeds thin, their mean
thick), and prints one JSON object with the per-variant figures as its last
stdout line. Exits 2 with one line on stderr for a malformed CSV or argument.
"""

import argparse
import datetime
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_report  # noqa: E402  (machine(), commit())
import plot  # noqa: E402  (the metrics CSV reader)

SUCCESS = "episode/success_rate"
RETURN = "episode/return"
TARGET = 0.5  # steps to this success rate
# The acceptance: an ONI variant at or above ONI_GOAL where the
# extrinsic-only run stays at or below BASELINE_CEILING.
ONI_GOAL = 0.8
BASELINE_CEILING = 0.2
BASELINE = "none"
DESCRIPTIONS = {
    "none": "extrinsic reward only",
    "retrieval": "ONI retrieval: the label table",
    "classification": "ONI classification: char-CNN classifier",
    "ranking": "ONI ranking: Bradley-Terry char-CNN",
}
# The grid task's distractor sentences (kDistractors in
# actor/envs/grid/grid_env.cc): printed at random, unrelated to progress.
GRID_DISTRACTORS = {
    "You hear a bird.", "The floor creaks.",
    "You hear some noises in the distance.",
    "You hear the splashing of a naiad.", "You hear a door open.",
}
# Colours by variant, stable across runs of the benchmark.
COLOURS = {"none": "tab:gray", "retrieval": "tab:blue",
           "classification": "tab:orange", "ranking": "tab:green"}
EXTRA_COLOURS = ["tab:red", "tab:purple", "tab:brown", "tab:pink"]


class UsageError(Exception):
    """A one-line message for the user; the script exits 2."""


# --- Per run ------------------------------------------------------------------

def value_at(series, budget):
    """The (step, value) of the last point at or below budget, or None."""
    best = None
    for step, value in zip(*series):
        if step <= budget:
            best = (step, value)
    return best


def first_reaching(series, budget, target):
    for step, value in zip(*series):
        if step > budget:
            break
        if value >= target:
            return step
    return None


def read_summary(run_dir):
    try:
        with open(os.path.join(run_dir, "summary.json")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def analyse_run(variant, seed, run_dir, budget):
    """Returns a dict describing one run; 'ok' is False when it has no
    figures at the budget (and 'problem' says why)."""
    run = {"variant": variant, "seed": seed, "run_dir": run_dir,
           "name": os.path.basename(os.path.normpath(run_dir))}
    summary = read_summary(run_dir)
    for key in ("stop_reason", "wall_s", "env_steps_per_s", "labels_total",
                "intrinsic_reward_mean"):
        if key in summary:
            run[key] = summary[key]
    csv_path = os.path.join(run_dir, plot.CSV_PATH)
    if not os.path.exists(csv_path):
        return dict(run, ok=False, problem="no metrics (the run failed)")
    try:
        series = plot.read_metrics(csv_path)
    except plot.UsageError as e:
        raise UsageError(str(e)) from None
    if SUCCESS not in series:
        return dict(run, ok=False, problem=f"no {SUCCESS} in the metrics")
    steps, values = series[SUCCESS]
    run["curve"] = [[s, v] for s, v in zip(steps, values)]
    run["last_step"] = steps[-1]
    if steps[-1] < budget:
        return dict(run, ok=False,
                    problem=f"stopped at {steps[-1]:,} env steps, before "
                            f"the budget")
    at = value_at(series[SUCCESS], budget)
    ret = value_at(series[RETURN], budget) if RETURN in series else None
    if at is None:
        return dict(run, ok=False, problem="no row at or below the budget")
    run.update(ok=True, step_at_budget=at[0], success=at[1],
               episode_return=None if ret is None else ret[1],
               steps_to_target=first_reaching(series[SUCCESS], budget,
                                              TARGET))
    return run


def load_config(run_dir):
    """The run's effective config.yaml as a dict, or None."""
    try:
        import yaml
        with open(os.path.join(run_dir, "config.yaml")) as f:
            c = yaml.safe_load(f)
        return c if isinstance(c, dict) else None
    except (OSError, ImportError, ValueError):
        return None


def describe_task(c):
    """The task and the settings every variant shares, in words; "" when the
    config lacks a key (a description only, never fatal)."""
    try:
        env, actor = c["env"], c["actor"]
        learner, reward = c["learner"], c["reward"]
        return (
            f"grid `{env['task']}`, layout `{env['layout']}`, "
            f"{env['width']}×{env['height']} floor cells, crop "
            f"{env['crop']}×{env['crop']}, at most {env['max_steps']} steps "
            f"per episode, distractor probability {env['distractor_prob']}; "
            f"{actor['count']} actors × {actor['num_envs']} envs, unroll "
            f"{actor['unroll']}, batch {learner['batch_size']}, learning rate "
            f"{learner['learning_rate']}, entropy {learner['entropy_coef']}; "
            f"reward = {reward['extrinsic_coef']} × r_ext + "
            f"{reward['intrinsic_coef']} × r_int × "
            f"N_ep^-{reward['count_exponent']} (r_int = 0 for `none`).")
    except (KeyError, TypeError):
        return ""


def describe_annotator(c):
    try:
        a = c["annotator"]
        if a["kind"] == "embedding":
            return (f"embedding (GloVe word vectors; a caption is helpful "
                    f"when its cosine similarity to \"{a['goal']}\" is "
                    f"above {a['similarity_threshold']})")
        if a["kind"] == "llm":
            return f"llm (model `{a['llm_model']}` at {a['url']})"
        return f"`{a['kind']}`"
    except (KeyError, TypeError):
        return ""


def read_labels(run_dir):
    """{caption: label} of the single-caption labels in the run's label
    store (retrieval and classification), or {} when there are none."""
    path = os.path.join(run_dir, "labels.sqlite")
    if not os.path.exists(path):
        return {}
    import sqlite3
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = db.execute(
                "SELECT q.first, l.label FROM labels l JOIN queries q "
                "ON q.id = l.query_id WHERE q.is_pair = 0").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    return {bytes(c).decode("utf-8", "replace"): label for c, label in rows}


# --- Per variant ----------------------------------------------------------------

def mean_spread(xs):
    """(mean, sample standard deviation, min, max); spread 0 for one value;
    all None for none."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None, None, None
    mean = sum(xs) / len(xs)
    spread = (math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
              if len(xs) > 1 else 0.0)
    return mean, spread, min(xs), max(xs)


def figures(values):
    mean, spread, lo, hi = mean_spread(values)
    return {"mean": mean, "spread": spread, "min": lo, "max": hi,
            "per_seed": values}


def aggregate(variant, runs):
    good = [r for r in runs if r["ok"]]
    reached = [r["steps_to_target"] for r in good
               if r["steps_to_target"] is not None]
    steps = figures([r["steps_to_target"] for r in good])  # None: not reached
    steps.update(reached=len(reached), of=len(good))
    return {
        "description": DESCRIPTIONS.get(variant, variant),
        "seeds": [r["seed"] for r in good],
        "failed_seeds": [r["seed"] for r in runs if not r["ok"]],
        "success": figures([r["success"] for r in good]),
        "return": figures([r["episode_return"] for r in good]),
        "steps_to_50": steps,
    }


def acceptance(variants):
    """The issue's claim, on the means; None when it cannot be judged."""
    base = variants.get(BASELINE, {}).get("success", {}).get("mean")
    oni = {v: f["success"]["mean"] for v, f in variants.items()
           if v != BASELINE and f["success"]["mean"] is not None}
    if base is None or not oni:
        return None
    best = max(oni, key=oni.get)
    return {"baseline_success": base, "best_oni": best,
            "best_oni_success": oni[best],
            "holds": oni[best] >= ONI_GOAL and base <= BASELINE_CEILING}


# --- Writing ------------------------------------------------------------------

def fmt_steps(s):
    if s is None:
        return "—"
    return f"{s / 1e6:.2f} M" if s >= 1e5 else f"{s:,.0f}"


def fmt_ms(f, digits=2):
    if f["mean"] is None:
        return "—"
    return f"{f['mean']:.{digits}f} ± {f['spread']:.{digits}f}"


def fmt_steps_to(s):
    if s["of"] == 0:
        return "—"
    if s["reached"] == 0:
        return "not reached"
    text = fmt_steps(s["mean"])
    if s["reached"] > 1:
        text += f" ± {fmt_steps(s['spread'])}"
    if s["reached"] < s["of"]:
        text += (f" ({s['reached']} of {s['of']} seeds; "
                 f"{s['of'] - s['reached']} not reached)")
    return text


def write_markdown(path, report, runs):
    b = report["budget"]
    lines = [
        "# Learning benchmark: the sparse key-door grid task",
        "",
        f"Written by `scripts/learning_bench.sh` on {report['date']} "
        f"(commit {report['commit']}); machine: {report['machine']['cpu']}, "
        f"{report['machine']['cores']} cores.",
    ]
    if report.get("command"):
        lines += ["", f"Command: `{report['command']}`"]
    if report.get("task"):
        lines += ["", f"Task: {report['task']}"]
    lines += [
        "",
        f"Budget: **{b:,} env steps** per run, the same learner settings for "
        f"every variant; only the reward model differs. Annotator: "
        f"{report['annotator']}.",
    ]
    if report.get("wall_s") is not None:
        lines += ["", f"Total wall time: {report['wall_s'] / 60:.1f} min."]
    lines += [
        "",
        f"## At {b:,} env steps",
        "",
        "| variant | success rate | return | steps to 50 % success |",
        "|---|---|---|---|",
    ]
    for variant, f in report["variants"].items():
        name = f"`{variant}` — {f['description']}"
        if f["failed_seeds"]:
            name += f" — failed seeds: {f['failed_seeds']}"
        lines.append(f"| {name} | {fmt_ms(f['success'])} | "
                     f"{fmt_ms(f['return'])} | "
                     f"{fmt_steps_to(f['steps_to_50'])} |")
    lines += [
        "",
        "Mean ± spread over seeds (spread: sample standard deviation). "
        "Success rate and return are over the last 100 episodes before the "
        "budget; the return is the environment's reward (1 at the stairs), "
        "without the intrinsic reward. Steps to 50 %: mean over the seeds "
        "that got there.",
    ]
    acc = report.get("acceptance")
    if acc is not None:
        verdict = "holds" if acc["holds"] else "does not hold"
        lines += [
            "",
            f"Claim (an ONI variant ≥ {ONI_GOAL * 100:.0f} % success where "
            f"extrinsic-only stays ≤ {BASELINE_CEILING * 100:.0f} %): "
            f"**{verdict}** "
            f"— best ONI variant `{acc['best_oni']}` "
            f"{acc['best_oni_success']:.2f}, `{BASELINE}` "
            f"{acc['baseline_success']:.2f}.",
        ]
    if report["helpful"] or report["unhelpful"]:
        quote = lambda cs: ", ".join(f"“{c}”" for c in cs) or "none"
        lines += [
            "",
            f"The annotator's labels (the single-caption labels of one "
            f"retrieval or classification run; the captions the agent saw "
            f"within the budget): helpful: {quote(report['helpful'])}; not "
            f"helpful: {quote(report['unhelpful'])}.",
        ]
        fooled = [c for c in report["helpful"] if c in GRID_DISTRACTORS]
        if fooled:
            lines[-1] += (f" Distractors labelled helpful (they say nothing "
                          f"about progress): {quote(fooled)}.")
    lines += [
        "",
        "![success rate against env steps](learning.png)",
        "",
        "## Runs",
        "",
        "| run | seed | success | return | steps to 50 % | env steps/s "
        "| wall s | labels | stop |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        if not r["ok"]:
            lines.append(f"| {r['name']} | {r['seed']} | — | — | — | — | — "
                         f"| — | {r['problem']} |")
            continue
        sps = r.get("env_steps_per_s")
        wall = r.get("wall_s")
        labels = r.get("labels_total")
        ret = r["episode_return"]
        lines.append(
            f"| {r['name']} | {r['seed']} | {r['success']:.2f} | "
            f"{'—' if ret is None else f'{ret:.2f}'} | "
            f"{fmt_steps(r['steps_to_target']) if r['steps_to_target'] is not None else 'not reached'} | "
            f"{'—' if sps is None else f'{sps:,.0f}'} | "
            f"{'—' if wall is None else f'{wall:.0f}'} | "
            f"{'—' if labels is None else labels} | "
            f"{r.get('stop_reason', '—')} |")
    write_atomic(path, "\n".join(lines) + "\n")


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def mean_curve(curves, budget, points=200):
    """The seeds' curves interpolated on a common grid, and their mean where
    every seed has data (between the latest first row and the earliest last
    row); ([], []) when there is no such range."""
    import numpy as np
    lo = max(c[0][0] for c in curves)
    hi = min(min(c[-1][0] for c in curves), budget)
    if hi <= lo:
        return [], []
    grid = np.linspace(lo, hi, points)
    ys = [np.interp(grid, [p[0] for p in c], [p[1] for p in c])
          for c in curves]
    return grid, np.mean(ys, axis=0)


def write_png(path, report, runs):
    import matplotlib
    matplotlib.use("Agg")  # never open a display
    from matplotlib.figure import Figure
    fig = Figure(figsize=(9, 5.5), layout="tight")
    ax = fig.add_subplot()
    budget = report["budget"]
    extra = iter(EXTRA_COLOURS)
    for variant, f in report["variants"].items():
        colour = COLOURS.get(variant) or next(extra, "black")
        # The runs the table counts: those with figures at the budget.
        curves = [[p for p in r["curve"] if p[0] <= budget]
                  for r in runs if r["variant"] == variant and r["ok"]]
        curves = [c for c in curves if c]
        for c in curves:
            marker = "o" if len(c) == 1 else None
            ax.plot([p[0] / 1e6 for p in c], [p[1] for p in c],
                    color=colour, linewidth=0.8, alpha=0.45, marker=marker)
        xs, ys = mean_curve(curves, budget) if curves else ([], [])
        mean = f["success"]["mean"]
        label = variant
        if mean is not None:
            label += f" ({len(curves)} seeds): {mean:.2f} at the budget"
        ax.plot([x / 1e6 for x in xs], ys, color=colour, linewidth=2.5,
                label=label)
    ax.axvline(budget / 1e6, color="black", linewidth=0.8, linestyle="--")
    ax.axhline(TARGET, color="black", linewidth=0.5, linestyle=":")
    ax.set_xlim(0, budget / 1e6 * 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("environment steps (millions)")
    ax.set_ylabel("success rate (last 100 episodes)")
    ax.set_title(f"Sparse grid task: success rate, {len(runs)} runs "
                 f"(thin: seeds, thick: mean)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
    tmp = path + ".tmp"
    fig.savefig(tmp, format="png", dpi=100)
    os.replace(tmp, path)


# --- Main ---------------------------------------------------------------------

def parse_run(spec):
    parts = spec.split(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[2]:
        raise UsageError(f"run {spec!r} is not VARIANT:SEED:RUN_DIR")
    try:
        seed = int(parts[1])
    except ValueError:
        raise UsageError(f"run {spec!r}: seed {parts[1]!r} is not an "
                         f"integer") from None
    return parts[0], seed, parts[2]


def build_report(args):
    specs = [parse_run(s) for s in args.runs]
    runs = [analyse_run(v, s, d, args.budget) for v, s, d in specs]
    variants = {}
    for variant, _, _ in specs:
        if variant not in variants:
            variants[variant] = aggregate(
                variant, [r for r in runs if r["variant"] == variant])
    config = next((c for c in map(load_config, [r["run_dir"] for r in runs])
                   if c is not None), None)
    labels = next((l for l in (read_labels(r["run_dir"]) for r in runs
                               if r["variant"] in ("retrieval",
                                                   "classification"))
                   if l), {})
    report = {
        "benchmark": "learning",
        "date": datetime.datetime.now().astimezone().isoformat(
            timespec="seconds"),
        "commit": bench_report.commit(),
        "machine": bench_report.machine(),
        "budget": args.budget,
        "annotator": args.annotator or describe_annotator(config) or "?",
        "task": args.task or describe_task(config),
        "helpful": sorted(c for c, l in labels.items() if l == "helpful"),
        "unhelpful": sorted(c for c, l in labels.items() if l != "helpful"),
        "command": args.command,
        "wall_s": args.wall_s,
        "variants": variants,
        "acceptance": acceptance(variants),
        "runs": [{k: r.get(k) for k in
                  ("name", "variant", "seed", "ok", "problem", "success",
                   "episode_return", "steps_to_target", "stop_reason", "wall_s",
                   "env_steps_per_s", "labels_total")} for r in runs],
    }
    return report, runs


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Table, curves and JSON of the learning benchmark.")
    parser.add_argument("runs", nargs="+", metavar="VARIANT:SEED:RUN_DIR")
    parser.add_argument("--budget", type=int, required=True,
                        help="env steps at which the figures are read")
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument("--wall-s", type=float,
                        help="the benchmark's total wall time, for the table")
    parser.add_argument("--annotator", default="",
                        help="who labelled the captions, in words (default: "
                             "from the first run's config.yaml)")
    parser.add_argument("--task", default="",
                        help="the task's settings, in words (default: "
                             "from the first run's config.yaml)")
    parser.add_argument("--command", default="",
                        help="the command that ran the benchmark")
    args = parser.parse_args(argv)
    if args.budget <= 0:
        parser.error("--budget must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        report, runs = build_report(args)
        os.makedirs(args.out, exist_ok=True)
    except UsageError as e:
        print(f"learning_report: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"learning_report: {args.out}: {e.strerror}", file=sys.stderr)
        return 2
    md = os.path.join(args.out, "learning.md")
    png = os.path.join(args.out, "learning.png")
    write_markdown(md, report, runs)
    write_png(png, report, runs)
    print(md)
    print(png)
    print(json.dumps(report, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
