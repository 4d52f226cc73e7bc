#!/usr/bin/python3
"""Serves a Python environment to Lantern's actors over gRPC.

Wraps any object with Gymnasium-style methods

    reset(seed=None) -> (obs, info)
    step(action)     -> (obs, reward, terminated, truncated, info)

and serves it as the `lantern.v1.Environment` service
(proto/lantern/v1/env.proto), one environment instance per session, so an
actor with `env.kind: remote` and N envs plays N episodes at once:

    scripts/env_server.py --env scripts/envs/key_corridor.py:make --port 50061
    scripts/env_server.py --env scripts/envs/key_corridor.py:make --print-config

`--env MODULE:FACTORY` names a zero-argument callable that returns a new
environment (MODULE is a dotted module name or a .py file). Observations are
mappings with Lantern's three parts (actor/env.h):

    chars   [crop, crop] integers 0..255  egocentric character crop, agent at
                                          the centre (crop odd)
    stats   [num_stats]  floats           status vector
    message [message_len] uint8 or bytes  optional: by default the caption's
                                          bytes, zero padded to --message-len

Shapes come from `env.observation_space` (a Gymnasium Dict of Boxes) when it
has them, else from a first reset; the action count from
`env.action_space.n`. The caption of a step (what the reward server labels)
comes from `--caption MODULE:FUNC`, called as FUNC(obs, info), else from
info["caption"], info["message"] or obs["message"]. Success is
info["success"] or info["is_success"].

Errors in the environment become gRPC INTERNAL errors carrying the Python
exception's text. SIGTERM or SIGINT stops the server cleanly. The Python
stubs are generated at start from the .proto files with protoc and
grpc_python_plugin (Debian's protobuf-compiler and protobuf-compiler-grpc),
or with grpc_tools when that is installed.
"""

import argparse
import importlib
import importlib.util
import logging
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from concurrent import futures
from pathlib import Path

import numpy as np

LOG = logging.getLogger("env_server")
REPO = Path(__file__).resolve().parents[1]
MAX_CAPTION_BYTES = 1024  # actor/env.h kMaxCaptionBytes
PROTOS = ("lantern/v1/tensor.proto", "lantern/v1/env.proto")

# name -> (numpy dtype, proto DType enum name)
DTYPES = {
    "chars": (np.uint8, "DTYPE_UINT8"),
    "stats": (np.float32, "DTYPE_FLOAT32"),
    "message": (np.uint8, "DTYPE_UINT8"),
}


class EnvError(Exception):
    """The wrapped environment misbehaved (raised, or returned bad data)."""


# --- Stubs ---------------------------------------------------------------


def generate_stubs(proto_dir, out_dir):
    """Writes lantern/v1/{tensor,env}_pb2(_grpc).py under out_dir."""
    protoc, plugin = shutil.which("protoc"), shutil.which("grpc_python_plugin")
    if protoc and plugin:
        cmd = [protoc, f"--plugin=protoc-gen-grpc_python={plugin}",
               f"--grpc_python_out={out_dir}"]
    else:
        try:
            import grpc_tools  # noqa: F401  (pip's grpcio-tools)
        except ImportError:
            raise SystemExit(
                "error: cannot generate the gRPC stubs: install protoc and "
                "grpc_python_plugin (apt-get install protobuf-compiler "
                "protobuf-compiler-grpc) or grpcio-tools")
        cmd = [sys.executable, "-m", "grpc_tools.protoc",
               f"--grpc_python_out={out_dir}"]
    cmd += [f"-I{proto_dir}", f"--python_out={out_dir}", *PROTOS]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)}: {done.stderr.strip()}")


def load_stubs(proto_dir=None):
    """Generates and imports the stubs; returns (env_pb2, env_pb2_grpc,
    tensor_pb2). The generated files live in a temporary directory."""
    proto_dir = Path(proto_dir or os.environ.get("LANTERN_PROTO_DIR") or
                     REPO / "proto")
    if not (proto_dir / PROTOS[1]).exists():
        raise SystemExit(f"error: {proto_dir / PROTOS[1]} not found "
                         "(--proto-dir or LANTERN_PROTO_DIR)")
    out = tempfile.mkdtemp(prefix="lantern-env-stubs-")
    try:
        generate_stubs(proto_dir, out)
        sys.path.insert(0, out)
        try:
            from lantern.v1 import env_pb2, env_pb2_grpc, tensor_pb2
        finally:
            sys.path.remove(out)
    finally:
        shutil.rmtree(out, ignore_errors=True)  # imported: no longer needed
    return env_pb2, env_pb2_grpc, tensor_pb2


# --- Loading the user's code ---------------------------------------------


def load_object(ref):
    """'pkg.module:attr' or 'path/to/file.py:attr' -> the attribute."""
    module_name, sep, attr = ref.rpartition(":")
    if not sep or not module_name or not attr:
        raise SystemExit(f"error: '{ref}' is not MODULE:NAME")
    if module_name.endswith(".py") or os.sep in module_name:
        path = Path(module_name).resolve()
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if spec is None or not path.exists():
            raise SystemExit(f"error: {path}: no such file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)
        except Exception as e:
            raise SystemExit(f"error: importing {path}: {describe(e)}")
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except Exception as e:
            raise SystemExit(f"error: importing {module_name}: "
                             f"{describe(e)}")
    try:
        return getattr(module, attr)
    except AttributeError:
        raise SystemExit(f"error: {module_name} has no '{attr}'") from None


def describe(exc):
    """'ValueError: text (at file.py:12 in step)' for error messages."""
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno} in " \
            f"{tb[-1].name})" if tb else ""
    return f"{type(exc).__name__}: {exc}{where}"


# --- Wrapping ------------------------------------------------------------


class Spec:
    """The served shapes: name, num_actions and (name, shape) per tensor."""

    def __init__(self, name, num_actions, crop, num_stats, message_len):
        self.name = name
        self.num_actions = num_actions
        self.shapes = {"chars": (crop, crop), "stats": (num_stats,),
                       "message": (message_len,)}

    def config_yaml(self, address):
        return "\n".join([
            "env:", "  kind: remote", f"  address: {address}",
            f"  crop: {self.shapes['chars'][0]}",
            f"  num_stats: {self.shapes['stats'][0]}",
            f"  message_len: {self.shapes['message'][0]}",
            f"  num_actions: {self.num_actions}", ""])


def _space_shape(space, key):
    """observation_space[key].shape for a Gymnasium Dict space, else None."""
    spaces = getattr(space, "spaces", None)
    if spaces is None:
        return None
    sub = spaces.get(key) if hasattr(spaces, "get") else None
    shape = getattr(sub, "shape", None)
    return tuple(int(d) for d in shape) if shape is not None else None


def derive_spec(env, name, message_len, first_obs=None):
    """The Spec of `env`: action count from action_space.n, shapes from
    observation_space or else from `first_obs` (an observation)."""
    n = getattr(getattr(env, "action_space", None), "n", None)
    if n is None or int(n) < 1:
        raise EnvError("the environment needs action_space.n (a Discrete "
                       "action space with at least one action)")
    shapes = {}
    for key in ("chars", "stats", "message"):
        shape = _space_shape(getattr(env, "observation_space", None), key)
        if shape is None and first_obs is not None and key in first_obs:
            value = first_obs[key]
            shape = (len(value),) if isinstance(value, (bytes, bytearray)) \
                else tuple(np.shape(value))
        shapes[key] = shape
    if shapes["chars"] is None or shapes["stats"] is None:
        raise EnvError("observations need 'chars' and 'stats' (from "
                       "observation_space or a reset's observation)")
    chars = shapes["chars"]
    if len(chars) != 2 or chars[0] != chars[1] or chars[0] % 2 == 0:
        raise EnvError(f"'chars' has shape {chars}: Lantern reads a square "
                       "crop of odd size with the agent at the centre")
    if len(shapes["stats"]) != 1:
        raise EnvError(f"'stats' has shape {shapes['stats']}: a vector")
    if shapes["message"] is not None:
        if len(shapes["message"]) != 1:
            raise EnvError(f"'message' has shape {shapes['message']}: a "
                           "vector of bytes")
        message_len = shapes["message"][0]
    return Spec(name, int(n), chars[0], shapes["stats"][0], message_len)


def caption_bytes(value):
    """A caption as at most MAX_CAPTION_BYTES bytes (whole UTF-8 characters
    when it is text)."""
    if value is None:
        return b""
    if isinstance(value, str):
        data = value.encode("utf-8")
        if len(data) > MAX_CAPTION_BYTES:
            data = data[:MAX_CAPTION_BYTES].decode("utf-8", "ignore").encode()
        return data
    if isinstance(value, np.ndarray):
        value = value.astype(np.uint8).tobytes()
    data = bytes(value)
    end = data.find(b"\0")  # a zero-padded message buffer
    return (data if end < 0 else data[:end])[:MAX_CAPTION_BYTES]


def default_caption(obs, info):
    for value in (info.get("caption"), info.get("message")):
        if value is not None:
            return value
    if hasattr(obs, "get"):
        return obs.get("message")
    return None


class EnvAdapter:
    """One environment instance with Lantern's view of it: checked numpy
    observations, a caption, success. Not thread-safe."""

    def __init__(self, env, spec, caption_fn=None):
        self.env = env
        self.spec = spec
        self.caption_fn = caption_fn or default_caption
        self.ended = True  # no episode yet

    def reset(self, seed):
        try:
            result = self.env.reset(seed=int(seed))
        except Exception as e:
            raise EnvError(f"reset(seed={seed}) raised {describe(e)}") from e
        if not (isinstance(result, tuple) and len(result) == 2):
            raise EnvError("reset() must return (obs, info)")
        obs, info = result
        self.ended = False
        return self._convert(obs, info or {}, 0.0, False, False, "reset()")

    def step(self, action):
        try:
            result = self.env.step(action)
        except Exception as e:
            raise EnvError(f"step({action}) raised {describe(e)}") from e
        if not (isinstance(result, tuple) and len(result) == 5):
            raise EnvError(f"step({action}) must return (obs, reward, "
                           "terminated, truncated, info)")
        obs, reward, terminated, truncated, info = result
        self.ended = bool(terminated) or bool(truncated)
        return self._convert(obs, info or {}, reward, terminated, truncated,
                             f"step({action})")

    def close(self):
        close = getattr(self.env, "close", None)
        if callable(close):
            close()

    def _convert(self, obs, info, reward, terminated, truncated, call):
        """{'observations': {name: ndarray}, 'reward', 'terminated',
        'truncated', 'success', 'caption'}; EnvError naming `call` when
        something does not fit the spec."""
        if not hasattr(obs, "__getitem__") or not hasattr(obs, "keys"):
            raise EnvError(f"{call}: the observation must be a mapping with "
                           f"'chars' and 'stats', got {type(obs).__name__}")
        try:
            caption = caption_bytes(self.caption_fn(obs, info))
        except Exception as e:
            raise EnvError(f"{call}: the caption function raised "
                           f"{describe(e)}") from e
        reward = float(reward)
        if not math.isfinite(reward):
            raise EnvError(f"{call}: reward {reward} is not finite")
        out = {}
        for name, shape in self.spec.shapes.items():
            dtype = DTYPES[name][0]
            if name == "message" and "message" not in obs:
                value = np.zeros(shape, np.uint8)
                value[:min(len(caption), shape[0])] = np.frombuffer(
                    caption[:shape[0]], np.uint8)
            elif name not in obs:
                raise EnvError(f"{call}: the observation has no '{name}'")
            else:
                value = obs[name]
                if isinstance(value, (bytes, bytearray, str)):
                    raw = value.encode() if isinstance(value, str) else value
                    value = np.zeros(shape, np.uint8)
                    value[:min(len(raw), shape[0])] = np.frombuffer(
                        bytes(raw[:shape[0]]), np.uint8)
                value = self._checked(np.asarray(value), name, shape, dtype,
                                      call)
            out[name] = value
        return {"observations": out, "reward": reward,
                "terminated": bool(terminated), "truncated": bool(truncated),
                "success": bool(info.get("success", info.get("is_success",
                                                             False))),
                "caption": caption}

    @staticmethod
    def _checked(value, name, shape, dtype, call):
        if value.shape != shape:
            raise EnvError(f"{call}: observation '{name}' has shape "
                           f"{value.shape}, the spec says {shape}")
        if dtype == np.uint8:
            if value.dtype.kind not in "biu":
                raise EnvError(f"{call}: observation '{name}' has dtype "
                               f"{value.dtype}, expected integers 0..255")
            if value.size and (value.min() < 0 or value.max() > 255):
                raise EnvError(f"{call}: observation '{name}' has values "
                               "outside 0..255")
        else:
            if value.dtype.kind not in "biuf":
                raise EnvError(f"{call}: observation '{name}' has dtype "
                               f"{value.dtype}, expected numbers")
            if not np.all(np.isfinite(value)):
                raise EnvError(f"{call}: observation '{name}' has "
                               "non-finite values")
        return np.ascontiguousarray(value, dtype=dtype)


# --- The service ---------------------------------------------------------


class Session:
    def __init__(self, adapter, client):
        self.adapter = adapter
        self.client = client
        self.lock = threading.Lock()
        self.last_used = time.monotonic()


def make_servicer(stubs, grpc, factory, spec, caption_fn=None,
                  max_sessions=1024, idle_timeout_s=600.0):
    """The Environment servicer over `factory` (stubs from load_stubs)."""
    env_pb2, env_pb2_grpc, tensor_pb2 = stubs

    class Servicer(env_pb2_grpc.EnvironmentServicer):
        def __init__(self):
            self.sessions = {}
            self.lock = threading.Lock()
            self.steps = 0

        def GetSpec(self, request, context):
            reply = env_pb2.EnvSpec(name=spec.name,
                                    num_actions=spec.num_actions)
            for name, shape in spec.shapes.items():
                reply.observations.add(
                    name=name, dtype=tensor_pb2.DType.Value(DTYPES[name][1]),
                    shape=shape)
            return reply

        def Open(self, request, context):
            with self.lock:
                if len(self.sessions) >= max_sessions:
                    context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                  f"{len(self.sessions)} sessions open "
                                  f"(--max-sessions {max_sessions})")
            try:
                adapter = EnvAdapter(factory(), spec, caption_fn)
            except Exception as e:
                context.abort(grpc.StatusCode.INTERNAL,
                              f"{spec.name}: creating the environment "
                              f"raised {describe(e)}")
            session_id = secrets.token_hex(8)
            with self.lock:
                self.sessions[session_id] = Session(adapter, request.client)
                count = len(self.sessions)
            LOG.info("session %s opened for '%s' (%d open)", session_id,
                     request.client, count)
            return env_pb2.OpenReply(session=session_id)

        def Reset(self, request, context):
            session = self._session(request.session, context)
            with session.lock:
                return self._reply(context, session.adapter.reset,
                                   request.seed)

        def Step(self, request, context):
            session = self._session(request.session, context)
            action = request.action
            if not 0 <= action < spec.num_actions:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                              f"action {action} is out of range [0, "
                              f"{spec.num_actions})")
            with session.lock:
                if session.adapter.ended:
                    context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                  f"session {request.session}: Step after "
                                  "the episode ended; Reset first")
                self.steps += 1
                return self._reply(context, session.adapter.step, action)

        def Close(self, request, context):
            with self.lock:
                session = self.sessions.pop(request.session, None)
            if session is not None:
                self._close(request.session, session, "closed")
            return env_pb2.CloseReply()

        def reap(self, now):
            """Closes the sessions idle longer than idle_timeout_s."""
            with self.lock:
                idle = [k for k, s in self.sessions.items()
                        if now - s.last_used > idle_timeout_s]
                gone = [(k, self.sessions.pop(k)) for k in idle]
            for k, s in gone:
                self._close(k, s, f"idle for over {idle_timeout_s:g} s")

        def close_all(self):
            with self.lock:
                gone = list(self.sessions.items())
                self.sessions.clear()
            for k, s in gone:
                self._close(k, s, "server stopping")

        def _close(self, session_id, session, why):
            with session.lock:
                try:
                    session.adapter.close()
                except Exception as e:
                    LOG.warning("session %s: close() raised %s", session_id,
                                describe(e))
            LOG.info("session %s %s", session_id, why)

        def _session(self, session_id, context):
            with self.lock:
                session = self.sessions.get(session_id)
            if session is None:
                context.abort(grpc.StatusCode.NOT_FOUND,
                              f"unknown session '{session_id}' (closed, idle "
                              f"for over {idle_timeout_s:g} s, or the server "
                              "restarted)")
            session.last_used = time.monotonic()
            return session

        def _reply(self, context, call, arg):
            try:
                r = call(arg)
            except EnvError as e:
                context.abort(grpc.StatusCode.INTERNAL, f"{spec.name}: {e}")
            reply = env_pb2.EnvStep(reward=r["reward"],
                                    terminated=r["terminated"],
                                    truncated=r["truncated"],
                                    success=r["success"],
                                    caption=r["caption"])
            for name, value in r["observations"].items():
                reply.observations.add(name=name, tensor=tensor_pb2.Tensor(
                    dtype=tensor_pb2.DType.Value(DTYPES[name][1]),
                    shape=value.shape, data=value.tobytes()))
            return reply

    return Servicer()


def serve(stubs, servicer, host, port, workers=16):
    """Starts a server for `servicer`; returns (server, bound port)."""
    import grpc
    _, env_pb2_grpc, _ = stubs
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        options=[
            # Lantern's channels ping idle connections every 10 s.
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", 5000),
            # A port in use is an error, not a silent share.
            ("grpc.so_reuseport", 0),
        ])
    env_pb2_grpc.add_EnvironmentServicer_to_server(servicer, server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:
        bound = 0
    if bound == 0:
        raise SystemExit(f"error: cannot listen on {host}:{port}")
    server.start()
    return server, bound


def write_address(path, address):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(address + "\n")
    os.replace(tmp, path)  # readers see the whole line or nothing


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", required=True,
                   help="MODULE:FACTORY returning a new environment")
    p.add_argument("--caption", help="MODULE:FUNC(obs, info) -> caption")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=50061,
                   help="0 picks a free port (see --address-file)")
    p.add_argument("--address-file",
                   help="write host:port here once serving (atomically)")
    p.add_argument("--name", help="the env's name (default: the factory's)")
    p.add_argument("--message-len", type=int, default=64,
                   help="message bytes when observations carry none")
    p.add_argument("--max-sessions", type=int, default=1024)
    p.add_argument("--idle-timeout-s", type=float, default=600.0,
                   help="close sessions nobody called for this long")
    p.add_argument("--workers", type=int, default=16,
                   help="threads serving calls (sessions step in parallel)")
    p.add_argument("--proto-dir", help="default: the repository's proto/")
    p.add_argument("--log-file", help="log here instead of to stderr")
    p.add_argument("--print-config", action="store_true",
                   help="print the env: block of a Lantern config and exit")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, filename=args.log_file,
                        format="%(asctime)s env_server %(levelname)s "
                               "%(message)s")

    factory = load_object(args.env)
    caption_fn = load_object(args.caption) if args.caption else None
    try:
        probe = EnvAdapter(factory(), None, caption_fn)
        obs = None
        if _space_shape(getattr(probe.env, "observation_space", None),
                        "chars") is None:
            obs, _ = probe.env.reset(seed=0)
        # --name, else Gymnasium's env id, else the module's name.
        name = args.name or getattr(getattr(probe.env, "spec", None), "id",
                                    None) or \
            Path(args.env.rpartition(":")[0]).stem.rpartition(".")[2]
        spec = derive_spec(probe.env, str(name), args.message_len, obs)
        probe.close()
    except EnvError as e:
        raise SystemExit(f"error: {args.env}: {e}")
    except Exception as e:
        raise SystemExit(f"error: {args.env}: {describe(e)}")
    if args.print_config:
        sys.stdout.write(spec.config_yaml(f"{args.host}:{args.port}"))
        return 0

    import grpc
    stubs = load_stubs(args.proto_dir)
    servicer = make_servicer(stubs, grpc, factory, spec, caption_fn,
                             args.max_sessions, args.idle_timeout_s)
    server, port = serve(stubs, servicer, args.host, args.port, args.workers)
    address = f"{args.host}:{port}"
    stopping = threading.Event()

    def stop(signum, frame):
        LOG.info("signal %d: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.address_file:
        write_address(args.address_file, address)
    LOG.info("serving %s on %s (%d actions, crop %d, %d stats, message %d)",
             spec.name, address, spec.num_actions, spec.shapes["chars"][0],
             spec.shapes["stats"][0], spec.shapes["message"][0])
    tick = max(0.05, min(args.idle_timeout_s / 4, 5.0))
    while not stopping.wait(tick):
        servicer.reap(time.monotonic())
    server.stop(grace=1.0).wait()
    servicer.close_all()
    if args.address_file:
        try:
            os.remove(args.address_file)
        except FileNotFoundError:
            pass
    LOG.info("stopped after %d steps", servicer.steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
