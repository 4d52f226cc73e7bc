"""Tests scripts/env_server.py's wrapping of Gymnasium-style environments,
its gRPC service (in-process, on a port the OS picks) and the KeyCorridor
example in scripts/envs/.

Run from the repository root:
  /usr/bin/python3 -m unittest discover -s tests/scripts -p 'test_*.py'
"""

import importlib.util
import subprocess
import sys
import unittest
from pathlib import Path

import grpc
import numpy as np

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "env_server.py"


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


server = load("env_server", SCRIPT)
corridor = load("key_corridor", REPO / "scripts" / "envs" / "key_corridor.py")


class Space:
    def __init__(self, **kw):
        self.__dict__.update(kw)


class ToyEnv:
    """Scripted: observations and infos are whatever the test puts in."""

    def __init__(self, crop=3, stats=2, with_space=True):
        self.action_space = Space(n=3)
        if with_space:
            self.observation_space = Space(spaces={
                "chars": Space(shape=(crop, crop)),
                "stats": Space(shape=(stats,))})
        self.obs = {"chars": np.full((crop, crop), 46), "stats": [0.5] * stats}
        self.info = {}
        self.reward = 0.0
        self.end = (False, False)
        self.raises = None
        self.seeds = []
        self.closed = False

    def reset(self, seed=None):
        self.seeds.append(seed)
        return dict(self.obs), dict(self.info)

    def step(self, action):
        if self.raises:
            raise self.raises
        return (dict(self.obs), self.reward, *self.end, dict(self.info))

    def close(self):
        self.closed = True


def adapter(env=None, caption_fn=None, message_len=8):
    env = env or ToyEnv()
    spec = server.derive_spec(env, "toy", message_len)
    return server.EnvAdapter(env, spec, caption_fn)


class SpecTest(unittest.TestCase):
    def test_shapes_from_the_observation_space(self):
        spec = server.derive_spec(ToyEnv(crop=5, stats=3), "toy", 16)
        self.assertEqual(spec.num_actions, 3)
        self.assertEqual(spec.shapes, {"chars": (5, 5), "stats": (3,),
                                       "message": (16,)})

    def test_shapes_from_a_first_observation(self):
        env = ToyEnv(crop=7, stats=4, with_space=False)
        obs = dict(env.obs, message=b"\0" * 32)
        spec = server.derive_spec(env, "toy", 16, obs)
        self.assertEqual(spec.shapes, {"chars": (7, 7), "stats": (4,),
                                       "message": (32,)})

    def test_what_lantern_cannot_read_is_refused(self):
        env = ToyEnv()
        env.action_space = Space()
        with self.assertRaisesRegex(server.EnvError, "action_space.n"):
            server.derive_spec(env, "toy", 8)
        env = ToyEnv(crop=4)
        with self.assertRaisesRegex(server.EnvError, "square crop of odd"):
            server.derive_spec(env, "toy", 8)
        env = ToyEnv(with_space=False)
        with self.assertRaisesRegex(server.EnvError, "'chars' and 'stats'"):
            server.derive_spec(env, "toy", 8, {"chars": np.zeros((3, 3))})

    def test_config_block(self):
        spec = server.derive_spec(ToyEnv(), "toy", 8)
        self.assertEqual(spec.config_yaml("h:1"), "env:\n  kind: remote\n"
                         "  address: h:1\n  crop: 3\n  num_stats: 2\n"
                         "  message_len: 8\n  num_actions: 3\n")


class AdapterTest(unittest.TestCase):
    def test_reset_and_step_give_lanterns_view(self):
        env = ToyEnv()
        env.info = {"message": "You see a key."}
        a = adapter(env)
        r = a.reset(seed=42)
        self.assertEqual(env.seeds, [42])
        self.assertFalse(a.ended)
        obs = r["observations"]
        self.assertEqual(obs["chars"].dtype, np.uint8)
        self.assertEqual(obs["stats"].dtype, np.float32)
        self.assertEqual(obs["message"].tobytes(), b"You see ")  # 8 bytes
        self.assertEqual(r["caption"], b"You see a key.")
        env.reward, env.end = 1, (True, False)
        env.info = {"is_success": True, "caption": "Done.", "message": "x"}
        r = a.step(2)
        self.assertEqual((r["reward"], r["terminated"], r["success"]),
                         (1.0, True, True))
        self.assertEqual(r["caption"], b"Done.")  # info caption first
        self.assertEqual(r["observations"]["message"].tobytes(),
                         b"Done.\0\0\0")
        self.assertTrue(a.ended)

    def test_caption_sources(self):
        env = ToyEnv()
        env.obs["message"] = np.frombuffer(b"Hello\0\0\0", np.uint8)
        a = adapter(env)
        self.assertEqual(a.reset(0)["caption"], b"Hello")  # obs message
        a = adapter(env, caption_fn=lambda obs, info: "custom é")
        r = a.reset(0)
        self.assertEqual(r["caption"], "custom é".encode())
        # An observation's own message is kept as it is.
        self.assertEqual(r["observations"]["message"].tobytes(),
                         b"Hello\0\0\0")

    def test_long_captions_are_cut_at_a_character(self):
        a = adapter(caption_fn=lambda obs, info: "é" * 600)  # 1200 bytes
        caption = a.reset(0)["caption"]
        self.assertEqual(len(caption), 1024)
        caption.decode("utf-8")  # whole characters
        a = adapter(caption_fn=lambda obs, info: "a" + "é" * 600)
        caption = a.reset(0)["caption"]
        self.assertEqual(len(caption), 1023)
        caption.decode("utf-8")

    def test_bad_observations_are_named(self):
        cases = [
            ({"chars": np.zeros((5, 5))}, "'chars' has shape \\(5, 5\\), the "
                                          "spec says \\(3, 3\\)"),
            ({"chars": np.full((3, 3), 300)}, "'chars' has values outside"),
            ({"chars": np.full((3, 3), 0.5)}, "'chars' has dtype float64"),
            ({"stats": [1.0, float("nan")]}, "'stats' has non-finite"),
            ({"stats": [None, None]}, "'stats' has dtype object"),
        ]
        for change, error in cases:
            env = ToyEnv()
            a = adapter(env)
            a.reset(0)
            env.obs.update(change)
            with self.subTest(error=error):
                with self.assertRaisesRegex(server.EnvError,
                                            r"step\(1\): observation " +
                                            error):
                    a.step(1)
        env = ToyEnv()
        a = adapter(env)
        del env.obs["stats"]
        with self.assertRaisesRegex(server.EnvError, "has no 'stats'"):
            a.reset(0)

    def test_bad_returns_and_exceptions_carry_their_text(self):
        env = ToyEnv()
        a = adapter(env)
        a.reset(0)
        env.raises = KeyError("no such monster")
        with self.assertRaisesRegex(server.EnvError,
                                    r"step\(1\) raised KeyError: 'no such "
                                    r"monster' \(at test_env_server.py:\d+ "
                                    r"in step\)"):
            a.step(1)
        env.raises = None
        env.reward = float("inf")
        with self.assertRaisesRegex(server.EnvError, "reward inf is not"):
            a.step(1)
        env.step = lambda action: (env.obs, 0.0, False, {})  # Gym's old API
        with self.assertRaisesRegex(server.EnvError, "must return \\(obs, "
                                    "reward, terminated, truncated, info\\)"):
            a.step(1)
        a = adapter(caption_fn=lambda obs, info: 1 / 0)
        with self.assertRaisesRegex(server.EnvError, "caption function "
                                    "raised ZeroDivisionError"):
            a.reset(0)

    def test_load_object(self):
        make = server.load_object(f"{REPO}/scripts/envs/key_corridor.py:make")
        self.assertEqual(make().action_space.n, 4)
        self.assertIs(server.load_object("os.path:join"),
                      __import__("os").path.join)
        with self.assertRaises(SystemExit):
            server.load_object("no_colon")
        with self.assertRaisesRegex(SystemExit, "importing no_such_module_x: "
                                    "ModuleNotFoundError"):
            server.load_object("no_such_module_x:make")


class ServiceTest(unittest.TestCase):
    """The servicer behind a real gRPC server on 127.0.0.1:0."""

    @classmethod
    def setUpClass(cls):
        cls.stubs = server.load_stubs()

    def setUp(self):
        self.envs = []

        def factory():
            env = ToyEnv()
            env.info = {"message": "hi"}
            self.envs.append(env)
            return env

        spec = server.derive_spec(ToyEnv(), "toy", 8)
        self.servicer = server.make_servicer(self.stubs, grpc, factory, spec,
                                             max_sessions=2,
                                             idle_timeout_s=60)
        self.server, port = server.serve(self.stubs, self.servicer,
                                         "127.0.0.1", 0, workers=4)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        self.pb = self.stubs[0]
        self.stub = self.stubs[1].EnvironmentStub(self.channel)

    def tearDown(self):
        self.channel.close()
        self.server.stop(grace=None).wait()

    def code(self, call, request):
        with self.assertRaises(grpc.RpcError) as caught:
            call(request, timeout=5)
        return caught.exception.code(), caught.exception.details()

    def test_spec_sessions_and_steps(self):
        spec = self.stub.GetSpec(self.pb.GetSpecRequest(), timeout=5)
        self.assertEqual(spec.name, "toy")
        self.assertEqual(spec.num_actions, 3)
        self.assertEqual([(t.name, list(t.shape)) for t in spec.observations],
                         [("chars", [3, 3]), ("stats", [2]),
                          ("message", [8])])
        session = self.stub.Open(self.pb.OpenRequest(client="t"),
                                 timeout=5).session
        r = self.stub.Reset(self.pb.ResetRequest(session=session, seed=9),
                            timeout=5)
        self.assertEqual(self.envs[0].seeds, [9])
        self.assertEqual(r.caption, b"hi")
        chars = r.observations[0].tensor
        self.assertEqual((chars.dtype, list(chars.shape), chars.data),
                         (self.stubs[2].DTYPE_UINT8, [3, 3], b"." * 9))
        stats = r.observations[1].tensor
        self.assertEqual(np.frombuffer(stats.data, np.float32).tolist(),
                         [0.5, 0.5])
        self.envs[0].reward, self.envs[0].end = 2.5, (False, True)
        r = self.stub.Step(self.pb.StepRequest(session=session, action=2),
                           timeout=5)
        self.assertEqual((r.reward, r.terminated, r.truncated),
                         (2.5, False, True))
        # The episode ended: Step before Reset is refused.
        self.assertEqual(self.code(self.stub.Step, self.pb.StepRequest(
            session=session, action=0))[0],
            grpc.StatusCode.FAILED_PRECONDITION)
        self.stub.Close(self.pb.CloseRequest(session=session), timeout=5)
        self.assertTrue(self.envs[0].closed)
        self.assertEqual(self.code(self.stub.Reset, self.pb.ResetRequest(
            session=session))[0], grpc.StatusCode.NOT_FOUND)

    def test_errors(self):
        session = self.stub.Open(self.pb.OpenRequest(), timeout=5).session
        self.stub.Reset(self.pb.ResetRequest(session=session), timeout=5)
        code, details = self.code(self.stub.Step, self.pb.StepRequest(
            session=session, action=3))
        self.assertEqual(code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertIn("action 3 is out of range [0, 3)", details)
        self.envs[0].raises = RuntimeError("the floor gives way")
        code, details = self.code(self.stub.Step, self.pb.StepRequest(
            session=session, action=1))
        self.assertEqual(code, grpc.StatusCode.INTERNAL)
        self.assertIn("toy: step(1) raised RuntimeError: the floor gives way",
                      details)
        self.stub.Open(self.pb.OpenRequest(), timeout=5)
        code, details = self.code(self.stub.Open, self.pb.OpenRequest())
        self.assertEqual(code, grpc.StatusCode.RESOURCE_EXHAUSTED)
        self.assertIn("--max-sessions 2", details)

    def test_idle_sessions_are_closed(self):
        import time
        session = self.stub.Open(self.pb.OpenRequest(), timeout=5).session
        self.servicer.reap(time.monotonic() + 30)
        self.assertFalse(self.envs[0].closed)
        self.servicer.reap(time.monotonic() + 61)
        self.assertTrue(self.envs[0].closed)
        code, details = self.code(self.stub.Reset, self.pb.ResetRequest(
            session=session))
        self.assertEqual(code, grpc.StatusCode.NOT_FOUND)
        self.assertIn("idle for over 60 s", details)


class KeyCorridorTest(unittest.TestCase):
    def test_a_random_policy_rarely_succeeds(self):
        # The e2e test (tests/e2e/remote_env_test.cc) asserts training gets
        # well above this.
        rate = corridor.random_success_rate(episodes=1000)
        self.assertGreater(rate, 0.05)
        self.assertLess(rate, 0.2)

    def test_a_planned_policy_always_succeeds(self):
        env = corridor.KeyCorridor()
        for seed in range(50):
            obs, _ = env.reset(seed=seed)
            for _ in range(env.max_steps):
                (ax, ay), target = env.agent, (env.key if not env.has_key
                                               else env.door)
                # Row first: the door is only reachable from its row.
                action = (corridor.SOUTH if target[1] > ay else corridor.NORTH
                          if target[1] < ay else corridor.EAST
                          if target[0] > ax else corridor.WEST)
                obs, reward, terminated, truncated, info = env.step(action)
                if terminated or truncated:
                    break
            self.assertTrue(info["success"], seed)
            self.assertEqual(info["message"],
                             "You unlock the door and leave the room.")

    def test_the_crop_is_centred_on_the_agent(self):
        env = corridor.KeyCorridor()
        obs, info = env.reset(seed=3)
        self.assertEqual(chr(obs["chars"][4, 4]), "@")
        self.assertEqual(obs["chars"].shape, (9, 9))
        self.assertEqual(info["message"], "You enter a small room.")

    def test_print_config(self):
        out = subprocess.run(
            [sys.executable, str(SCRIPT), "--env",
             f"{REPO}/scripts/envs/key_corridor.py:make", "--print-config",
             "--port", "50099"], capture_output=True, text=True, check=True)
        self.assertEqual(out.stdout, "env:\n  kind: remote\n  address: "
                         "127.0.0.1:50099\n  crop: 9\n  num_stats: 4\n"
                         "  message_len: 64\n  num_actions: 4\n")


if __name__ == "__main__":
    unittest.main()
