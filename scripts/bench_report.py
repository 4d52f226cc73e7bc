#!/usr/bin/python3
"""Writes the results of `scripts/bench.sh all` as JSON and as a Markdown table.

Usage: bench_report.py RAW.jsonl OUT_DIR [--previous EARLIER.json]

RAW.jsonl holds one JSON object per benchmark (its own last output line plus
"bench", "command", "seconds", or an "error"). Writes OUT_DIR/latest.json
({"machine", "date", "commit", "benchmarks": {name: result}}) and
OUT_DIR/latest.md (the machine, the date and every numeric figure). With
--previous, each figure also shows the earlier value and the change, and the
changes are printed.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

# Settings, not results: shown in the command column, not as figures.
NOT_FIGURES = {"seconds", "wall_s", "batch", "unroll", "threads", "rounds", "envs",
               "streams", "captions", "concurrency", "steps", "cpu"}


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except OSError:
        mem_kb = 0
    return {"cpu": model, "cores": os.cpu_count(),
            "memory_gib": round(mem_kb / 2**20, 1),
            "kernel": platform.release(), "host": platform.node()}


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def figures(result):
    return {k: v for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
            and k not in NOT_FIGURES}


def fmt(v):
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer()
                              and abs(v) >= 1000):
        return f"{v:,.0f}"
    return f"{v:.4g}"


def change(new, old):
    if old in (None, 0):
        return ""
    return f"{(new - old) / abs(old) * 100:+.1f} %"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("raw")
    parser.add_argument("out_dir")
    parser.add_argument("--previous")
    args = parser.parse_args()
    with open(args.raw) as f:
        results = [json.loads(line) for line in f if line.strip()]
    benchmarks = {r["bench"]: r for r in results}
    report = {"machine": machine(),
              "date": datetime.datetime.now(datetime.timezone.utc)
              .strftime("%Y-%m-%d %H:%M UTC"),
              "commit": commit(), "benchmarks": benchmarks}
    earlier = {}
    if args.previous:
        with open(args.previous) as f:
            earlier = json.load(f).get("benchmarks", {})

    m = report["machine"]
    lines = ["# Benchmarks", "",
             f"{report['date']}, commit {report['commit']}; {m['cpu']}, "
             f"{m['cores']} cores, {m['memory_gib']} GiB, Linux {m['kernel']}.",
             "Produced by `scripts/bench.sh all`; each benchmark's output is in "
             "`bench/results/logs/`.", ""]
    header = "| benchmark | figure | value |"
    rule = "|---|---|---|"
    if args.previous:
        header += " previous | change |"
        rule += "---|---|"
    lines += [header, rule]
    changes = []
    for name, r in benchmarks.items():
        if "error" in r:
            lines.append(f"| {name} | error | {r['error']} |"
                         + (" | |" if args.previous else ""))
            continue
        old = figures(earlier.get(name, {}))
        for key, value in figures(r).items():
            row = f"| {name} | {key} | {fmt(value)} |"
            if args.previous:
                before = old.get(key)
                row += (f" {fmt(before) if before is not None else ''} |"
                        f" {change(value, before)} |")
                if before is not None:
                    changes.append(f"{name}.{key}: {fmt(before)} -> "
                                   f"{fmt(value)} ({change(value, before)})")
            lines.append(row)
    lines += ["", "Commands (short settings):", ""]
    lines += [f"- `{r['command']}` ({r['wall_s']} s)"
              for r in benchmarks.values()]
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "latest.json"), "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out_dir, "latest.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for c in changes:
        print(c)
    print(f"wrote {args.out_dir}/latest.json and {args.out_dir}/latest.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
