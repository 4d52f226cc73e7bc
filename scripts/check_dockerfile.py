#!/usr/bin/python3
"""Checks a Dockerfile for the essentials (hadolint is in neither Debian nor
npm without a download, so this covers what Lantern's images must get right).

Usage: check_dockerfile.py [--context DIR] DOCKERFILE...

Rules (each violation is printed as FILE:LINE: message; exit 1 if any):
- every FROM names a tag (not :latest), directly or through an ARG default;
- a multi-stage build whose last stage runs as a non-root USER created in
  that stage;
- apt-get: update and install in the same RUN, install with -y and
  --no-install-recommends, and /var/lib/apt/lists removed in that RUN;
- COPY --from names an earlier stage; other COPY sources exist in the
  build context (--context, default: the repository root);
- no ADD of URLs, no secrets (TOKEN, PASSWORD, SECRET, KEY) in ENV or ARG
  defaults, CMD and ENTRYPOINT in exec (JSON) form.
"""

import argparse
import glob
import json
import os
import re
import shlex
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def instructions(text):
    """(line number, KEYWORD, arguments) per instruction; continuation lines
    joined, comments dropped."""
    out = []
    current, start = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if not current:
            start = number
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, args = current.partition(" ")
        out.append((start, keyword.upper(), args.strip()))
        current = ""
    return out


def check(path, context):
    problems = []
    with open(path) as f:
        text = f.read()
    args = {}        # ARG defaults before and in stages
    stages = []      # names (or indexes) of the stages so far
    final_user = None
    users_created = set()

    def fail(line, message):
        problems.append(f"{path}:{line}: {message}")

    for line, keyword, rest in instructions(text):
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
            if re.search(r"TOKEN|PASSWORD|SECRET|_KEY", name.upper()) and default:
                fail(line, f"ARG {name} has a secret-looking default")
        elif keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)",
                           lambda m: args.get(m.group(1) or m.group(2), ""),
                           words[0])
            name_part = image.rsplit("/", 1)[-1]
            if ":" not in name_part and "@" not in name_part:
                fail(line, f"FROM {words[0]} has no tag")
            elif name_part.endswith(":latest"):
                fail(line, f"FROM {words[0]} uses :latest")
            alias = words[2] if len(words) >= 3 and words[1].upper() == "AS" \
                else str(len(stages))
            stages.append(alias)
            final_user, users_created = None, set()
        elif keyword == "RUN":
            if "apt-get install" in rest:
                if "apt-get update" not in rest:
                    fail(line, "apt-get install without apt-get update in "
                         "the same RUN")
                if "--no-install-recommends" not in rest:
                    fail(line, "apt-get install without "
                         "--no-install-recommends")
                if not re.search(r"apt-get install[^&;]*\s-y\b", rest):
                    fail(line, "apt-get install without -y")
                if "rm -rf /var/lib/apt/lists" not in rest:
                    fail(line, "the apt lists are not removed in the RUN "
                         "that installs")
            # The user is useradd's last word, before && or ;.
            for match in re.finditer(r"useradd\s+([^&;]*)", rest):
                users_created.add(match.group(1).split()[-1])
        elif keyword == "USER":
            final_user = rest.split(":")[0]
        elif keyword == "COPY":
            words = shlex.split(rest)
            sources = [w for w in words[:-1] if not w.startswith("--")]
            source_stage = next((w.split("=", 1)[1] for w in words
                                 if w.startswith("--from=")), None)
            if source_stage is not None:
                if source_stage not in stages[:-1]:
                    fail(line, f"COPY --from={source_stage}: no earlier "
                         "stage of that name")
            else:
                for source in sources:
                    if not glob.glob(os.path.join(context, source)):
                        fail(line, f"COPY source {source} is not in the "
                             f"build context {context}")
        elif keyword == "ADD" and re.search(r"https?://", rest):
            fail(line, "ADD of a URL (fetch with curl and check it)")
        elif keyword == "ENV":
            for name in re.findall(r"(\w+)=", rest):
                if re.search(r"TOKEN|PASSWORD|SECRET|_KEY", name.upper()):
                    fail(line, f"ENV {name} looks like a secret")
        elif keyword in ("CMD", "ENTRYPOINT"):
            try:
                if not isinstance(json.loads(rest), list):
                    raise ValueError
            except ValueError:
                fail(line, f"{keyword} is not in exec (JSON array) form")

    if len(stages) < 2:
        fail(1, "not a multi-stage build (build tools would ship)")
    if final_user in (None, "root", "0"):
        fail(len(text.splitlines()), "the final stage runs as root (no USER "
             "or USER root)")
    elif final_user not in users_created:
        fail(len(text.splitlines()), f"USER {final_user} is not created "
             "(useradd) in the final stage")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--context", default=ROOT)
    parser.add_argument("dockerfiles", nargs="+")
    options = parser.parse_args(argv)
    problems = []
    for path in options.dockerfiles:
        problems += check(path, options.context)
    for problem in problems:
        print(problem)
    if not problems:
        print(f"ok: {' '.join(options.dockerfiles)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
