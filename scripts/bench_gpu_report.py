#!/usr/bin/python3
"""Tabulates scripts/bench_gpu.sh's runs.

Usage: bench_gpu_report.py RUNS.jsonl OUT.md

RUNS.jsonl holds {"label": "IMPL NET/BATCH/PRECISION", "result": {...}} or
{"label": ..., "error": ...} per line (IMPL: pytorch, pytorch_compile,
lantern, lantern_eager, verify). Writes OUT.md (the card, one row per
network, batch and precision with each implementation's samples/s and the
ratios) and prints a summary JSON object as the last line.
"""

import json
import sys


def card():
    try:
        import torch
        return torch.cuda.get_device_name(0), torch.__version__
    except Exception:  # the report still works without a GPU
        return "?", "?"


def load(path):
    rows = {}
    verify = {}
    errors = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            record = json.loads(line)
            impl, config = record["label"].split(" ", 1)
            if "error" in record:
                errors.append(f"{record['label']}: {record['error']}")
                continue
            result = record["result"]
            if impl == "verify":
                verify[config] = result.get("verify_max_loss_diff")
                impl = "lantern"  # a verify run also times the graph
                if config in rows and impl in rows[config]:
                    continue
            rows.setdefault(config, {})[impl] = result["samples_per_s"]
    return rows, verify, errors


def ratio(a, b):
    return round(a / b, 3) if a and b else None


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    rows, verify, errors = load(argv[1])
    name, version = card()
    impls = ["pytorch", "pytorch_compile", "lantern_eager", "lantern"]
    lines = [f"# Learner update on {name} (PyTorch {version})", "",
             "Samples per second (T = 32); ratios are Lantern (CUDA graph) "
             "over each baseline.", "",
             "| network / B / precision | " + " | ".join(impls) +
             " | ÷ PyTorch eager | ÷ torch.compile | graph ÷ eager |",
             "|---" * (len(impls) + 4) + "|"]
    summary = {"card": name, "torch": version, "configs": {},
               "verify_max_loss_diff": verify, "errors": errors}
    for config in sorted(rows):
        r = rows[config]
        ratios = {"vs_pytorch": ratio(r.get("lantern"), r.get("pytorch")),
                  "vs_compile": ratio(r.get("lantern"),
                                      r.get("pytorch_compile")),
                  "graph_vs_eager": ratio(r.get("lantern"),
                                          r.get("lantern_eager"))}
        summary["configs"][config] = dict(r, **ratios)
        cells = [f"{r[i]:,.0f}" if i in r else "—" for i in impls]
        cells += [str(v) if v is not None else "—" for v in ratios.values()]
        lines.append(f"| {config} | " + " | ".join(cells) + " |")
    lines += ["", "Graph replay against eager, largest loss difference over "
              "6 updates: " + ", ".join(
                  f"{k} {'no graph captured' if v is None else v}"
                  for k, v in verify.items())]
    if errors:
        lines += ["", "Failed runs: " + "; ".join(errors)]
    with open(argv[2], "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
