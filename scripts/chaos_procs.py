"""The run's config, its processes, the label store and the LLM server for
scripts/chaos.py."""

import ctypes
import glob
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import chaos_metrics as cm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT_S = 120  # a server's start-up on 2 busy cores, torch included

# Small and quick, as tests/e2e/test_run.cc's base config, with ONI's
# intrinsic reward as in tests/e2e/reward_test.cc.
CONFIG = """run:
  dir: {root}
  name: chaos
  seed: {seed}
  stats_interval_s: 1
  checkpoint_interval_s: 1
env:
  task: sparse
  width: 6
  height: 4
  crop: 7
  message_len: 32
actor:
  num_envs: 4
  unroll: 8
  max_unacked: 16
  heartbeat_interval_s: 0.25
learner:
  listen: {learner}
  batch_size: 8
  queue_capacity: 4
  actor_timeout_s: 3
model:
  char_embedding: 4
  conv_channels: []
  hidden: 32
  stats_hidden: 16
  message_hidden: 16
reward:
  model_kind: classification
  listen: {reward}
  server_addr: {reward}
  steps_per_label_batch: 200
  train_learning_rate: 1e-3
  train_batch_size: 32
  intrinsic_coef: 0.4
  extrinsic_coef: 10
  publish_interval_s: 0.5
annotator:
  concurrency: 2
{annotator}"""

_t0 = time.monotonic()


def now():
    return time.monotonic() - _t0


def log(msg):
    print(f"chaos: [{now():7.1f}s] {msg}", file=sys.stderr, flush=True)


class StartError(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # PR_SET_PDEATHSIG: a child outlives no chaos.py, even one SIGKILLed.
    _libc.prctl(1, signal.SIGKILL)


class Proc:
    """One role's process, restartable; stdout and stderr of each start go
    to <root>/stderr/<name>.<n>.txt."""

    def __init__(self, name, argv, err_dir, env=None):
        self.name, self.argv, self.err_dir, self.env = name, argv, err_dir, env
        self.p, self.starts, self.err_path = None, 0, None

    def start(self):
        self.starts += 1
        self.err_path = f"{self.err_dir}/{self.name}.{self.starts}.txt"
        with open(self.err_path, "wb") as err:
            try:
                # Own session: a Ctrl-C at the terminal reaches chaos.py only.
                self.p = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=err,
                    stderr=subprocess.STDOUT, env=self.env,
                    start_new_session=True, preexec_fn=_die_with_parent)
            except OSError as e:
                raise StartError(f"cannot start {self.name} ({self.argv[0]}): {e}")

    @property
    def pid(self):
        return self.p.pid if self.p else None

    def alive(self):
        return self.p is not None and self.p.poll() is None

    def stop(self, sig, timeout):
        """Sends `sig` (None: none; a second SIGTERM makes a role exit at
        once), waits up to `timeout` (then SIGKILL); the exit code."""
        if self.p is None:
            return None
        if sig is not None and self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            log(f"{self.name} ignored signal {sig} for {timeout} s: SIGKILL")
            self.p.kill()
            return self.p.wait()

    def tail(self, n=15):
        try:
            with open(self.err_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except (OSError, TypeError):
            return ""


def lantern_status(bin_dir, addr):
    """(role, status) from `lantern status ADDR`, or (None, None)."""
    try:
        r = subprocess.run([f"{bin_dir}/lantern", "status", addr],
                           capture_output=True, text=True, timeout=6)
        if r.returncode == 0:
            j = json.loads(r.stdout)
            return j["role"], j["status"]
    except (subprocess.TimeoutExpired, ValueError, KeyError):
        pass
    return None, None


def read_files(pattern):
    texts = []
    for path in glob.glob(pattern):
        with open(path, errors="replace") as f:
            texts.append(f.read())
    return texts


def read_store(path):
    """The label store as it is now: labels (key -> label), pending queries,
    queries holding more than one label (the schema forbids it)."""
    out = {"labels": {}, "pending": 0, "doubled": 0}
    if not os.path.exists(path):
        return out
    # Read-only beside the running server (WAL: readers never block it).
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        for is_pair, first, second, label in con.execute(
                "SELECT q.is_pair, q.first, q.second, l.label FROM labels l "
                "JOIN queries q ON q.id = l.query_id"):
            out["labels"][cm.label_key(is_pair, first, second)] = label
        out["pending"] = con.execute(
            "SELECT count(*) FROM queries WHERE state = 'pending'").fetchone()[0]
        out["doubled"] = con.execute(
            "SELECT count(*) FROM (SELECT query_id FROM labels GROUP BY "
            "query_id HAVING count(*) > 1)").fetchone()[0]
    finally:
        con.close()
    return out


def llm_paths(explicit):
    """(llama-server, model) from scripts/llm_server.sh paths, or None. For
    `auto` only when both are already there: `paths` would otherwise build
    llama.cpp (25 minutes)."""
    cache = os.path.join(os.environ.get(
        "LANTERN_CACHE", os.path.expanduser("~/.cache/lantern")), "llama")
    model = os.environ.get("LANTERN_LLM_MODEL") or \
        f"{cache}/models/smollm2-135m-random-q8_0.gguf"
    built = all(os.path.exists(p) for p in (
        f"{cache}/bin/llama-server", f"{cache}/bin/.built", model))
    if not explicit and not built:
        return None
    p = subprocess.Popen([f"{ROOT}/scripts/llm_server.sh", "paths"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=None if explicit else 60)
    except subprocess.TimeoutExpired:  # a stale build stamp: it is building
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        return None
    values = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    if p.returncode != 0 or "server" not in values or "model" not in values:
        if explicit:
            raise StartError(f"scripts/llm_server.sh paths failed: {out[-500:]}")
        return None
    return values["server"], values["model"]


def start_llm(server, model, err_dir):
    """Starts llama-server on a free port as testing/llama_server.cc does;
    (its Proc, its base URL) once it answers a chat request."""
    port = free_port()
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")  # as llm_server.sh
    llm = Proc("llama-server", [server, "-m", model, "-t", "2", "-c", "4096",
                                "-np", "2", "--host", "127.0.0.1", "--port",
                                str(port), "--alias", "annot"], err_dir, env)
    llm.start()
    url = f"http://127.0.0.1:{port}"
    probe = json.dumps({"model": "annot", "max_tokens": 1, "messages": [
        {"role": "user", "content": "hi"}]}).encode()
    deadline = now() + START_TIMEOUT_S
    while now() < deadline:  # 503 while the model loads
        if not llm.alive():
            raise StartError(f"llama-server exited during start-up:\n{llm.tail()}")
        try:
            req = urllib.request.Request(f"{url}/v1/chat/completions", probe,
                                         {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                if r.status == 200:
                    log(f"llama-server serves {model} at {url}")
                    return llm, url
        except OSError:
            pass
        time.sleep(0.5)
    llm.p.kill()
    raise StartError(f"llama-server did not answer within {START_TIMEOUT_S} s")
