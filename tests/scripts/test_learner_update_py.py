"""Tests bench/learner_update.py, the PyTorch baseline of bench_learner_update:
that it computes what the C++ learner computes.

 - the network's parameters, shape by shape, against learner/core/model.cc;
 - V-trace and the APPO loss against the hand-worked numbers of the C++ tests
   (tests/learner/core/vtrace_test.cc, appo_loss_test.cc), copied here;
 - whole updates against the built C++ benchmark: seeded alike, both draw the
   same weights and batch, and the C++ run's last loss must appear in the
   Python run's sequence of losses (skipped when the binary is not built).

Run from the repository root:
  /usr/bin/python3 -m unittest discover -s tests/scripts -p 'test_*.py'
"""

import importlib.util
import math
import os
import re
import subprocess
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "learner_update.py"
BENCH = Path(os.environ.get("LANTERN_BIN_DIR", ROOT / "build" / "bin")) / \
    "bench_learner_update"

try:
    import torch
except ImportError:  # python3-torch is not among scripts/deps.sh's packages
    torch = None


def load_bench():
    spec = importlib.util.spec_from_file_location("learner_update", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lu = load_bench() if torch is not None else None


def options(conv=(32, 32), rnn=False):
    o = lu.ModelOptions(use_rnn=rnn)
    o.conv_channels = list(conv)
    return o


# Parameter shapes of lantern::core::PolicyNet with the default ModelOptions
# (crop 9, 5 stats, 64 message bytes, 5 actions, embedding 16, hidden 256,
# stats/message hidden 64, rnn_hidden 256), worked out from
# learner/core/model.cc's constructor, in its registration order. The totals
# are what build/bin/bench_learner_update prints as "parameters=":
# 794758 (default), 449094 (--conv none), 1189510 (--rnn).
COMMON_TAIL = [
    ("message_fc1.weight", (64, 64)), ("message_fc1.bias", (64,)),
    ("message_fc2.weight", (64, 64)), ("message_fc2.bias", (64,)),
    ("stats_fc1.weight", (64, 5)), ("stats_fc1.bias", (64,)),
    ("stats_fc2.weight", (64, 64)), ("stats_fc2.bias", (64,)),
    ("core_fc.weight", (256, 256 + 64 + 64)), ("core_fc.bias", (256,)),
]
HEADS = [("policy.weight", (5, 256)), ("policy.bias", (5,)),
         ("value.weight", (1, 256)), ("value.bias", (1,))]
GRU = [("gru.weight_ih", (768, 256)), ("gru.weight_hh", (768, 256)),
       ("gru.bias_ih", (768,)), ("gru.bias_hh", (768,))]
DEFAULT_SHAPES = [
    ("embedding.weight", (256, 16)),
    ("conv0.weight", (32, 16, 3, 3)), ("conv0.bias", (32,)),
    ("conv1.weight", (32, 32, 3, 3)), ("conv1.bias", (32,)),
    ("map_fc.weight", (256, 32 * 9 * 9)), ("map_fc.bias", (256,)),
] + COMMON_TAIL + HEADS
MLP_SHAPES = [
    ("embedding.weight", (256, 16)),
    ("map_fc.weight", (256, 16 * 9 * 9)), ("map_fc.bias", (256,)),
] + COMMON_TAIL + HEADS
RNN_SHAPES = DEFAULT_SHAPES[:-len(HEADS)] + GRU + HEADS


def shapes(net):
    return [(name, tuple(p.shape)) for name, p in net.named_parameters()]


@unittest.skipIf(torch is None, "needs python3-torch")
class NetworkTest(unittest.TestCase):
    def setUp(self):
        torch.set_num_threads(1)

    def test_default_network_has_the_cpp_parameters(self):
        net = lu.PolicyNet(options())
        self.assertEqual(shapes(net), DEFAULT_SHAPES)
        self.assertEqual(sum(p.numel() for p in net.parameters()), 794758)
        self.assertEqual(list(net.buffers()), [])

    def test_mlp_network_has_the_cpp_parameters(self):
        net = lu.PolicyNet(options(conv=()))
        self.assertEqual(shapes(net), MLP_SHAPES)
        self.assertEqual(sum(p.numel() for p in net.parameters()), 449094)

    def test_nethack_network_has_the_cpp_parameters(self):
        # 3x72x72 -> conv 8/4 (17x17), 4/2 (7x7), 3/2 (3x3) -> 128 * 3 * 3.
        net = lu.PolicyNet(lu.network_options("nethack", False, None))
        conv = [(name, shape) for name, shape in shapes(net)
                if name.startswith(("conv", "map_fc.weight", "embedding"))]
        self.assertEqual(conv, [
            ("conv0.weight", (32, 3, 8, 8)), ("conv0.bias", (32,)),
            ("conv1.weight", (64, 32, 4, 4)), ("conv1.bias", (64,)),
            ("conv2.weight", (128, 64, 3, 3)), ("conv2.bias", (128,)),
            ("map_fc.weight", (512, 128 * 3 * 3))])
        self.assertEqual(sum(p.numel() for p in net.parameters()), 2757245)

    def test_rnn_network_has_the_cpp_parameters(self):
        net = lu.PolicyNet(options(rnn=True))
        self.assertEqual(shapes(net), RNN_SHAPES)
        self.assertEqual(sum(p.numel() for p in net.parameters()), 1189510)

    def test_random_batch_has_the_cpp_layout(self):
        # learner/core/updater.h's Batch, filled as random_batch.cc does.
        b = lu.random_batch(options(rnn=True), steps=3, envs=2)
        expected = {
            "chars": ((4, 2, 9, 9), torch.uint8),
            "stats": ((4, 2, 5), torch.float32),
            "message": ((4, 2, 64), torch.uint8),
            "actions": ((3, 2), torch.int64),
            "behaviour_logits": ((3, 2, 5), torch.float32),
            "rewards": ((3, 2), torch.float32),
            "dones": ((3, 2), torch.uint8),
            "initial_state": ((2, 256), torch.float32),
        }
        for name, (shape, dtype) in expected.items():
            tensor = getattr(b, name)
            self.assertEqual((tuple(tensor.shape), tensor.dtype),
                             (shape, dtype), name)
        self.assertEqual(tuple(lu.random_batch(options(), 3, 2)
                               .initial_state.shape), (2, 0))


def small_rnn_options():
    # ModelTest's SmallRnnOptions() (tests/learner/core/model_test.cc).
    return lu.ModelOptions(crop=5, num_stats=3, message_len=8, num_actions=4,
                           char_embedding=4, conv_channels=[6], hidden=16,
                           stats_hidden=8, message_hidden=8, use_rnn=True,
                           rnn_hidden=12)


@unittest.skipIf(torch is None, "needs python3-torch")
class RecurrentAndClippingTest(unittest.TestCase):
    """What the whole-update comparison with the C++ below cannot see at its
    sizes: episode resets of the GRU state (rare at the benchmark's 2% done
    rate) and gradient clipping (the benchmark's norms stay under 4)."""

    def setUp(self):
        torch.set_num_threads(1)
        torch.manual_seed(7)

    def test_first_resets_recurrent_state(self):
        # ModelTest.FirstResetsRecurrentState: first[3][0] = 1, so from step
        # 3 on env 0 behaves as if it started from a zero state there.
        o = small_rnn_options()
        net = lu.PolicyNet(o)
        b = lu.random_batch(o, steps=5, envs=2)  # chars etc. are [6, 2, ...]
        first = torch.zeros(6, 2, dtype=torch.bool)
        first[3][0] = True
        state0 = torch.randn(2, o.rnn_hidden)
        with torch.no_grad():
            full, _, _ = net(b.chars, b.stats, b.message, first, state0)
            fresh, _, _ = net(b.chars[3:, :1], b.stats[3:, :1],
                              b.message[3:, :1], torch.zeros(3, 1),
                              net.initial_state(1))
            first[3][0] = False
            carried, _, _ = net(b.chars, b.stats, b.message, first, state0)
        self.assertTrue(torch.allclose(full[3:, :1], fresh, 1e-5, 1e-6))
        self.assertFalse(torch.allclose(carried[3:, :1], fresh, 1e-4, 1e-5))

    def test_step_clips_the_global_gradient_norm(self):
        # UpdaterTest.StepMatchesReferenceUpdate's max_grad_norm = 0.05, so
        # clipping is active: afterwards the gradients' global L2 norm is
        # 0.05 (torch's 1e-6 epsilon aside) and the reported norm the one
        # before clipping.
        o = small_rnn_options()
        learner = lu.Learner(o, lu.UpdateOptions(max_grad_norm=0.05))
        stats = learner.step(lu.random_batch(o, 5, 3, done_rate=0.2))
        norm = math.sqrt(sum(p.grad.pow(2).sum().item()
                             for p in learner.model.parameters()))
        self.assertGreater(stats["grad_norm"], 0.05)
        self.assertAlmostEqual(norm, 0.05, delta=1e-5)


def time_major(rows):
    return torch.tensor(rows, dtype=torch.float32)


@unittest.skipIf(torch is None, "needs python3-torch")
class VTraceTest(unittest.TestCase):
    """The cases of tests/learner/core/vtrace_test.cc (see the hand-worked
    numbers there)."""

    def assert_close(self, actual, expected):
        self.assertEqual(actual.shape, expected.shape)
        self.assertTrue(torch.allclose(actual, expected, rtol=1e-5, atol=1e-5),
                        f"\n{actual}\n!=\n{expected}")

    def test_episode_end_and_clipping_by_hand(self):
        # VTraceTest.EpisodeEndAndClippingByHand
        out = lu.vtrace(
            time_major([[math.log(2.0)], [math.log(0.5)], [math.log(1.1)]]),
            time_major([[0.9], [0.0], [0.9]]),
            time_major([[1.0], [2.0], [3.0]]),
            time_major([[0.5], [1.0], [1.5]]),
            torch.tensor([2.0]), rho_bar=1.2, c_bar=1.0)
        self.assert_close(out.vs, time_major([[2.63], [1.5], [5.13]]))
        self.assert_close(out.pg_advantages,
                          time_major([[2.22], [0.5], [3.63]]))

    def test_two_environments_by_hand(self):
        # VTraceTest.TwoEnvironmentsByHand
        out = lu.vtrace(
            time_major([[math.log(2.0), math.log(1.5)],
                        [math.log(0.5), math.log(3.0)],
                        [math.log(1.1), math.log(0.8)]]),
            time_major([[0.9, 0.9], [0.0, 0.9], [0.9, 0.9]]),
            time_major([[1.0, 0.0], [2.0, 0.0], [3.0, 1.0]]),
            time_major([[0.5, 1.0], [1.0, 1.0], [1.5, 1.0]]),
            torch.tensor([4.0, 2.0]), rho_bar=1.2, c_bar=1.0)
        self.assert_close(out.vs, time_major(
            [[2.63, 1.9384], [1.5, 2.176], [7.11, 2.44]]))
        self.assert_close(out.pg_advantages, time_major(
            [[2.22, 1.15008], [0.5, 1.4352], [5.61, 1.44]]))

    def test_on_policy_is_discounted_return(self):
        # VTraceTest.OnPolicyIsDiscountedReturn (default rho_bar = c_bar = 1)
        zeros = torch.zeros(3, 1)
        out = lu.vtrace(zeros, torch.full((3, 1), 0.9),
                        time_major([[1.0], [2.0], [3.0]]), zeros,
                        torch.tensor([2.0]))
        expected = time_major([[6.688], [6.32], [4.8]])
        self.assert_close(out.vs, expected)
        self.assert_close(out.pg_advantages, expected)

    def test_records_no_gradient(self):
        # VTraceTest.RecordsNoGradient
        out = lu.vtrace(torch.zeros(4, 3).requires_grad_(),
                        torch.full((4, 3), 0.99), torch.ones(4, 3),
                        torch.ones(4, 3).requires_grad_(),
                        torch.ones(3).requires_grad_())
        self.assertFalse(out.vs.requires_grad)
        self.assertFalse(out.pg_advantages.requires_grad)


@unittest.skipIf(torch is None, "needs python3-torch")
class AppoLossTest(unittest.TestCase):
    """The cases of tests/learner/core/appo_loss_test.cc: T = 1, B = 4,
    A = 2, every step ends its episode, action 0, uniform behaviour policy;
    the hand-worked table is in that file's comment."""

    def setUp(self):
        torch.set_num_threads(1)
        probs = torch.tensor([0.525, 0.475, 0.8, 0.2, 0.3, 0.7, 0.8, 0.2])
        self.target_logits = probs.log().view(1, 4, 2).requires_grad_()
        self.values = torch.tensor([0.0, 1.0, 1.0, 1.0]).view(1, 4) \
            .requires_grad_()

    def loss(self, **overrides):
        # AppoLossTest's HandOptions(), then the test's own changes.
        o = lu.LossOptions(gamma=0.9, rho_bar=1.0, c_bar=1.0, clip_ratio=0.1,
                           value_coef=0.5, entropy_coef=0.01,
                           normalize_advantages=False)
        for key, value in overrides.items():
            setattr(o, key, value)
        return lu.appo_loss(
            target_logits=self.target_logits, values=self.values,
            bootstrap_value=torch.full((4,), 5.0),
            behaviour_logits=torch.zeros(1, 4, 2),
            actions=torch.zeros(1, 4, dtype=torch.long),
            rewards=torch.tensor([2.0, 2.0, 0.0, 0.0]).view(1, 4),
            dones=torch.ones(1, 4, dtype=torch.uint8), o=o)

    def test_terms_by_hand(self):
        # AppoLossTest.TermsByHand
        terms = self.loss()
        self.assertAlmostEqual(terms.policy.item(), -0.265, delta=1e-5)
        self.assertAlmostEqual(terms.value.item(), 0.795, delta=1e-5)
        self.assertAlmostEqual(terms.entropy.item(), 0.5758915, delta=1e-5)
        self.assertAlmostEqual(terms.total.item(), 0.1267411, delta=1e-5)
        self.assertAlmostEqual(terms.mean_ratio.item(),
                               (1.05 + 1.6 + 0.6 + 1.6) / 4, delta=1e-5)
        self.assertAlmostEqual(terms.clip_fraction.item(), 0.75, delta=1e-6)
        self.assertEqual(terms.total.dim(), 0)

    def test_policy_gradient_respects_clip_by_hand(self):
        # AppoLossTest.PolicyGradientRespectsClipByHand
        self.loss(value_coef=0.0, entropy_coef=0.0).total.backward()
        expected = torch.tensor(
            [-0.249375, 0.249375, 0.0, 0.0, 0.0, 0.0, 0.08, -0.08])
        self.assertTrue(torch.allclose(self.target_logits.grad.view(8),
                                       expected, rtol=1e-5, atol=1e-6),
                        self.target_logits.grad)
        self.assertTrue(self.values.grad is None or
                        self.values.grad.abs().sum().item() == 0)

    def test_value_gradient_uses_half_squared_error(self):
        # AppoLossTest.ValueGradientUsesHalfSquaredError
        terms = self.loss(entropy_coef=0.0)
        (0.5 * terms.value).backward()
        self.assertTrue(torch.allclose(
            self.values.grad.view(4),
            torch.tensor([-0.25, -0.125, 0.075, 0.125]), rtol=1e-5, atol=1e-6),
            self.values.grad)

    def test_normalized_advantages_by_hand(self):
        # AppoLossTest.NormalizedAdvantagesByHand
        terms = self.loss(normalize_advantages=True)
        self.assertAlmostEqual(terms.policy.item(), 0.1014256, delta=1e-5)
        self.assertAlmostEqual(terms.value.item(), 0.795, delta=1e-5)

    def test_done_stops_bootstrap(self):
        # AppoLossTest.DoneStopsBootstrap
        def value(done):
            return lu.appo_loss(
                target_logits=torch.zeros(1, 1, 3), values=torch.zeros(1, 1),
                bootstrap_value=torch.full((1,), 5.0),
                behaviour_logits=torch.zeros(1, 1, 3),
                actions=torch.zeros(1, 1, dtype=torch.long),
                rewards=torch.ones(1, 1),
                dones=torch.full((1, 1), done, dtype=torch.bool),
                o=lu.LossOptions(gamma=0.9, normalize_advantages=False)
            ).value.item()
        self.assertAlmostEqual(value(False), 0.5 * 5.5 * 5.5, delta=1e-4)
        self.assertAlmostEqual(value(True), 0.5, delta=1e-6)


@unittest.skipIf(torch is None, "needs python3-torch")
@unittest.skipUnless(BENCH.exists(), f"{BENCH} is not built")
class SameUpdatesAsCppTest(unittest.TestCase):
    """bench_learner_update seeds torch with 0, builds the network, draws one
    random batch and steps on it over and over; it prints the loss of its
    last step. Its number of steps depends on time (at least 5 warmup steps
    and 0.5 s, then one step with --seconds 1e-9), so the C++ loss must equal
    one of the Python run's losses near the step count its timing implies
    (0.5 s / ms_per_update + 1, within a factor of 3); neighbouring losses
    differ by far more than the 4 printed decimals. Whatever differs -
    initialisation, layer order, flattening order, the loss, Adam,
    clipping - breaks it. The sizes keep the C++ to ~10-20 steps here (few
    candidates) and the losses smooth (big enough batches)."""

    def check(self, args, o, batch, unroll):
        out = subprocess.run(
            [str(BENCH), "--seconds", "1e-9", "--threads", "1", "--batch",
             str(batch), "--unroll", str(unroll), *args],
            capture_output=True, text=True, timeout=60, check=True).stdout
        cpp_loss = float(re.search(r"last_loss=(\S+)", out).group(1))
        cpp_params = int(re.search(r"parameters=(\d+)", out).group(1))
        ms_per_update = float(re.search(r"ms_per_update=(\S+)", out).group(1))
        expected_steps = 1 + max(5, math.ceil(500 / max(ms_per_update, 0.01)))
        first, last = max(4, expected_steps // 3), 3 * expected_steps + 5

        torch.set_num_threads(1)
        torch.manual_seed(0)
        learner = lu.Learner(o)
        self.assertEqual(
            sum(p.numel() for p in learner.model.parameters()), cpp_params)
        batch = lu.random_batch(o, unroll, batch)
        losses = []
        for step in range(1, last + 1):
            losses.append(learner.step(batch)["total_loss"])
            if step >= first and abs(losses[-1] - cpp_loss) <= 6e-5:
                return
        self.fail(f"C++ last_loss={cpp_loss} (after about {expected_steps} "
                  f"steps) is none of the Python losses of steps {first} to "
                  f"{last}: {[round(x, 4) for x in losses[first - 1:]]}")

    def test_default_network(self):
        self.check([], options(), batch=16, unroll=16)

    def test_mlp_network(self):
        self.check(["--conv", "none"], options(conv=()), batch=32, unroll=16)

    def test_rnn_network(self):
        self.check(["--rnn"], options(rnn=True), batch=16, unroll=8)

    def test_nethack_network(self):
        # The ONI-sized one: image input, strided unpadded convolutions,
        # GRU 512.
        self.check(["--net", "nethack"],
                   lu.network_options("nethack", rnn=False, conv=None),
                   batch=4, unroll=4)


@unittest.skipUnless(BENCH.exists(), f"{BENCH} is not built")
class CppProfileTest(unittest.TestCase):
    """bench_learner_update --profile FILE: five updates under LibTorch's
    profiler, ops by total time, written to FILE; the JSON stays last."""

    def test_writes_ops_of_five_updates(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "profile.txt"
            out = subprocess.run(
                [str(BENCH), "--seconds", "1e-9", "--batch", "4",
                 "--unroll", "4", "--profile", str(path)],
                capture_output=True, text=True, timeout=60,
                check=True).stdout
            self.assertTrue(out.splitlines()[-1].startswith("{"))
            lines = path.read_text().splitlines()
        self.assertTrue(lines[0].startswith("5 updates; CPU ops"), lines[0])
        self.assertEqual(lines[1].split(), ["total_us", "calls", "share",
                                            "name"])
        rows = {}
        for line in lines[2:]:
            total_us, calls, share, name = line.split(maxsplit=3)
            rows[name] = int(calls)
            self.assertGreaterEqual(int(total_us), 0)
            self.assertTrue(share.endswith("%"))
        # Two convolutions per update (the second, and the first's backward
        # through the character embedding) and Lantern's own ELU node.
        self.assertEqual(rows.get("aten::convolution_backward"), 10, rows)
        self.assertIn("lantern::EluBackward", rows)

    def test_unwritable_file_is_an_error(self):
        run = subprocess.run(
            [str(BENCH), "--seconds", "1e-9", "--batch", "2", "--unroll", "2",
             "--profile", "/nonexistent/dir/profile.txt"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 1)
        self.assertIn("cannot write /nonexistent/dir/profile.txt", run.stderr)


if __name__ == "__main__":
    unittest.main()
