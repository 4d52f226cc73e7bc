#!/usr/bin/python3
"""The PyTorch baseline of bench_learner_update: one APPO learner update.

The same network, loss, optimizer and random batch as the C++ benchmark
(bench/learner_update.cc, learner/core/), written the way Python RL learners
(Sample Factory, TorchBeast) write it: nn.Module, F.elu, a V-trace loop over
time, torch.optim.Adam, torch.nn.utils.clip_grad_norm_.

  bench/learner_update.py [--device cpu|cuda] [--net grid|nethack]
                          [--batch B] [--unroll T]
                          [--seconds S | --iters N] [--threads N] [--rnn]
                          [--conv C1,C2,...|none] [--bf16] [--compile]
                          [--data host|device] [--warmup N] [--seed S]
                          [--profile FILE]

Prints the configuration, then, as its last line, one JSON object:
{"name": "learner_update_pytorch", "device": "cpu", "batch": 32, "unroll": 32,
 "samples_per_s": ..., "updates_per_s": ..., "threads": 1, "params": ...,
 "torch": "1.13.0", ...}

With the same --seed (0, as the C++ benchmark uses), the initial weights and
the batch are the C++ ones too: both draw them from torch's CPU generator in
the same order (tests/scripts/test_learner_update_py.py checks the losses).
"""

import argparse
import dataclasses
import json
import math
import sys
import time
from typing import List, NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn


# --- The network (learner/core/model.h) --------------------------------------


@dataclasses.dataclass
class ModelOptions:
    """lantern::core::ModelOptions, with the same (quickstart-sized) defaults."""
    crop: int = 9
    num_stats: int = 5
    message_len: int = 64
    num_actions: int = 5
    char_embedding: int = 16
    image_channels: int = 0  # > 0: the map is a uint8 image, not characters
    conv_channels: List[int] = dataclasses.field(
        default_factory=lambda: [32, 32])
    conv_kernels: List[int] = dataclasses.field(default_factory=list)
    conv_strides: List[int] = dataclasses.field(default_factory=list)
    hidden: int = 256
    stats_hidden: int = 64
    message_hidden: int = 64
    use_rnn: bool = False
    rnn_hidden: int = 256


class PolicyNet(nn.Module):
    """chars -> Embedding(256, E) (or image / 255) -> [Conv + ELU]* ->
    flatten (row, column, channel) -> Linear + ELU;
    message / 255 -> 2 x (Linear + ELU); stats -> 2 x (Linear + ELU);
    concat -> Linear + ELU -> [GRUCell] -> policy Linear(A), value Linear(1).

    Modules are created in the C++ order, so a seeded generator gives the C++
    initial weights (every module keeps torch's default initialisation, as the
    C++ does), and parameters() lists them in the C++ order.
    """

    def __init__(self, o: ModelOptions):
        super().__init__()
        self.options = o
        if o.image_channels > 0:
            channels = o.image_channels
        else:
            self.embedding = nn.Embedding(256, o.char_embedding)
            channels = o.char_embedding
        self.convs = []
        side = o.crop
        for i, out in enumerate(o.conv_channels):
            # Without kernels given: 3x3, stride 1, padded to keep the size.
            kernel = o.conv_kernels[i] if o.conv_kernels else 3
            stride = o.conv_strides[i] if o.conv_strides else 1
            padding = 0 if o.conv_kernels else 1
            conv = nn.Conv2d(channels, out, kernel, stride=stride,
                             padding=padding)
            setattr(self, f"conv{i}", conv)  # the C++ names: conv0, conv1, ..
            self.convs.append(conv)
            channels = out
            side = (side + 2 * padding - kernel) // stride + 1
        self.map_fc = nn.Linear(channels * side * side, o.hidden)
        self.message_fc1 = nn.Linear(o.message_len, o.message_hidden)
        self.message_fc2 = nn.Linear(o.message_hidden, o.message_hidden)
        self.stats_fc1 = nn.Linear(o.num_stats, o.stats_hidden)
        self.stats_fc2 = nn.Linear(o.stats_hidden, o.stats_hidden)
        self.core_fc = nn.Linear(o.hidden + o.message_hidden + o.stats_hidden,
                                 o.hidden)
        head_in = o.hidden
        if o.use_rnn:
            self.gru = nn.GRUCell(o.hidden, o.rnn_hidden)
            head_in = o.rnn_hidden
        self.policy = nn.Linear(head_in, o.num_actions)
        self.value = nn.Linear(head_in, 1)

    def initial_state(self, batch: int) -> torch.Tensor:
        size = self.options.rnn_hidden if self.options.use_rnn else 0
        return torch.zeros(batch, size, device=self.policy.weight.device)

    def forward(self, chars, stats, message, first, state):
        """chars [T, B, c, c] uint8 (with image_channels [T, B, C, c, c]),
        stats [T, B, S] float, message [T, B, L]
        uint8, first [T, B] (1: zero the state before step t), state [B, H].
        Returns logits [T, B, A], values [T, B] and the last state."""
        steps, batch = chars.shape[:2]
        n = steps * batch
        device = self.policy.weight.device
        x = chars.to(device).reshape(n, *chars.shape[2:])
        if self.options.image_channels > 0:
            x = x.float() / 255.0
        else:
            x = self.embedding(x.long()).permute(0, 3, 1, 2)  # [N, E, c, c]
        for conv in self.convs:
            x = F.elu(conv(x))
        # Flattened in (row, column, channel) order, as the C++ does: same
        # weights, same function.
        x = F.elu(self.map_fc(x.permute(0, 2, 3, 1).reshape(n, -1)))

        m = message.to(device).reshape(n, -1).float() / 255.0
        m = F.elu(self.message_fc2(F.elu(self.message_fc1(m))))
        s = stats.to(device).reshape(n, -1).float()
        s = F.elu(self.stats_fc2(F.elu(self.stats_fc1(s))))
        x = F.elu(self.core_fc(torch.cat([x, m, s], dim=1)))

        if self.options.use_rnn:
            x = x.view(steps, batch, -1)
            notfirst = (first.to(device) == 0).float().unsqueeze(-1)
            state = state.to(device).float()
            outputs = []
            for t in range(steps):
                state = self.gru(x[t], state * notfirst[t])
                outputs.append(state)
            x = torch.stack(outputs).view(n, -1)
        else:
            state = x.new_zeros(batch, 0)
        logits = self.policy(x).view(steps, batch, -1)
        values = self.value(x).view(steps, batch)
        return logits, values, state


# --- V-trace and the APPO loss (learner/core/vtrace.h, appo_loss.h) ----------


class VTraceOutput(NamedTuple):
    vs: torch.Tensor
    pg_advantages: torch.Tensor


@torch.no_grad()
def vtrace(log_rhos, discounts, rewards, values, bootstrap_value,
           rho_bar=1.0, c_bar=1.0) -> VTraceOutput:
    """V-trace targets, time-major [T, B] (bootstrap_value [B]); as
    TorchBeast's vtrace.from_importance_weights with one clip for rho and
    the policy-gradient rho."""
    rhos = torch.exp(log_rhos)
    clipped_rhos = torch.clamp(rhos, max=rho_bar)
    cs = torch.clamp(rhos, max=c_bar)
    next_values = torch.cat([values[1:], bootstrap_value.unsqueeze(0)])
    deltas = clipped_rhos * (rewards + discounts * next_values - values)

    acc = torch.zeros_like(bootstrap_value)
    result = []
    for t in reversed(range(discounts.shape[0])):
        acc = deltas[t] + discounts[t] * cs[t] * acc
        result.append(acc)
    result.reverse()
    vs = torch.stack(result) + values

    next_vs = torch.cat([vs[1:], bootstrap_value.unsqueeze(0)])
    pg_advantages = clipped_rhos * (rewards + discounts * next_vs - values)
    return VTraceOutput(vs, pg_advantages)


@dataclasses.dataclass
class LossOptions:
    """lantern::core::LossOptions, same defaults."""
    gamma: float = 0.99
    rho_bar: float = 1.0
    c_bar: float = 1.0
    clip_ratio: float = 0.1
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    normalize_advantages: bool = True


class LossTerms(NamedTuple):
    total: torch.Tensor
    policy: torch.Tensor
    value: torch.Tensor    # 0.5 * mean (vs - V)^2, before value_coef
    entropy: torch.Tensor
    mean_ratio: torch.Tensor
    clip_fraction: torch.Tensor


def appo_loss(target_logits, values, bootstrap_value, behaviour_logits,
              actions, rewards, dones, o: LossOptions) -> LossTerms:
    """PPO-clipped policy loss on V-trace advantages, 0.5 * squared error
    value loss and an entropy bonus:
    total = policy + value_coef * value - entropy_coef * entropy."""
    log_probs = F.log_softmax(target_logits, dim=-1)
    log_pi = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    with torch.no_grad():
        log_mu = F.log_softmax(behaviour_logits, dim=-1).gather(
            -1, actions.unsqueeze(-1)).squeeze(-1)
        discounts = (1.0 - dones.float()) * o.gamma
        vs, adv = vtrace(log_pi - log_mu, discounts, rewards, values,
                         bootstrap_value, o.rho_bar, o.c_bar)
        if o.normalize_advantages and adv.numel() > 1:
            adv = (adv - adv.mean()) / adv.std().clamp_min(1e-7)

    ratio = torch.exp(log_pi - log_mu)
    clipped = torch.clamp(ratio, 1.0 - o.clip_ratio, 1.0 + o.clip_ratio)
    policy_loss = -torch.min(ratio * adv, clipped * adv).mean()
    value_loss = 0.5 * (vs - values).pow(2).mean()
    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
    total = policy_loss + o.value_coef * value_loss - o.entropy_coef * entropy
    with torch.no_grad():
        mean_ratio = ratio.mean()
        clip_fraction = ((ratio - 1.0).abs() > o.clip_ratio).float().mean()
    return LossTerms(total, policy_loss, value_loss, entropy, mean_ratio,
                     clip_fraction)


# --- The update (learner/core/updater.h, random_batch.h) ---------------------


@dataclasses.dataclass
class UpdateOptions:
    """lantern::core::UpdateOptions, same defaults."""
    learning_rate: float = 5e-4
    adam_eps: float = 1e-6
    max_grad_norm: float = 4.0  # <= 0: no clipping
    loss: LossOptions = dataclasses.field(default_factory=LossOptions)


class Batch(NamedTuple):
    chars: torch.Tensor             # [T+1, B, crop, crop] uint8
    stats: torch.Tensor             # [T+1, B, S] float
    message: torch.Tensor           # [T+1, B, L] uint8
    actions: torch.Tensor           # [T, B] int64
    behaviour_logits: torch.Tensor  # [T, B, A] float
    rewards: torch.Tensor           # [T, B] float
    dones: torch.Tensor             # [T, B] uint8
    initial_state: torch.Tensor     # [B, H] float (H = 0 without rnn)


def random_batch(o: ModelOptions, steps: int, envs: int,
                 done_rate: float = 0.02) -> Batch:
    """lantern::core::RandomBatch: the same draws in the same order."""
    image = (o.image_channels,) if o.image_channels > 0 else ()
    return Batch(
        chars=torch.randint(0, 256, (steps + 1, envs, *image, o.crop, o.crop),
                            dtype=torch.uint8),
        stats=torch.randn(steps + 1, envs, o.num_stats),
        message=torch.randint(0, 256, (steps + 1, envs, o.message_len),
                              dtype=torch.uint8),
        actions=torch.randint(0, o.num_actions, (steps, envs),
                              dtype=torch.long),
        behaviour_logits=torch.randn(steps, envs, o.num_actions),
        rewards=torch.randn(steps, envs),
        dones=(torch.rand(steps, envs) < done_rate).to(torch.uint8),
        initial_state=(torch.randn(envs, o.rnn_hidden) if o.use_rnn
                       else torch.zeros(envs, 0)))


class Learner:
    """The network and its Adam optimizer; step() is one APPO update.

    bf16: forward and loss under torch.autocast (CUDA); compile: the forward
    and the loss through torch.compile (PyTorch 2)."""

    def __init__(self, model_options: ModelOptions,
                 options: Optional[UpdateOptions] = None, device="cpu",
                 bf16: bool = False, compile: bool = False):
        self.options = options or UpdateOptions()
        self.device = torch.device(device)
        self.bf16 = bf16
        self.model = PolicyNet(model_options).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(),
                                          lr=self.options.learning_rate,
                                          eps=self.options.adam_eps)
        self.loss = (torch.compile(self.compute_loss) if compile
                     else self.compute_loss)

    def compute_loss(self, batch: Batch):
        steps = batch.actions.shape[0]
        dones = batch.dones.to(self.device)
        first = torch.cat([torch.zeros_like(dones[:1]), dones])
        with torch.autocast(self.device.type, dtype=torch.bfloat16,
                            enabled=self.bf16):
            logits, values, _ = self.model(batch.chars, batch.stats,
                                           batch.message, first,
                                           batch.initial_state)
            # The loss in float32 whatever the network computed in.
            logits, values = logits.float(), values.float()
            terms = appo_loss(
                target_logits=logits[:steps], values=values[:steps],
                bootstrap_value=values[steps].detach(),
                behaviour_logits=batch.behaviour_logits.to(self.device),
                actions=batch.actions.to(self.device),
                rewards=batch.rewards.to(self.device), dones=dones,
                o=self.options.loss)
        return terms, values[:steps].detach().mean()

    def step(self, batch: Batch) -> dict:
        steps, envs = batch.actions.shape
        terms, mean_value = self.loss(batch)
        self.optimizer.zero_grad()
        terms.total.backward()
        max_norm = self.options.max_grad_norm
        grad_norm = nn.utils.clip_grad_norm_(
            self.model.parameters(), max_norm if max_norm > 0 else math.inf)
        self.optimizer.step()

        # One host copy for the statistics (it also syncs a CUDA step).
        host = torch.stack([
            terms.total.detach(), terms.policy.detach(), terms.value.detach(),
            terms.entropy.detach(), grad_norm.to(terms.total), terms.mean_ratio,
            terms.clip_fraction, mean_value]).tolist()
        return dict(zip(("total_loss", "policy_loss", "value_loss", "entropy",
                         "grad_norm", "mean_ratio", "clip_fraction",
                         "mean_value"), host), samples=steps * envs)


# --- The benchmark ------------------------------------------------------------


def parse_conv(text: str) -> List[int]:
    if text == "default":
        return ModelOptions().conv_channels
    if text == "none":
        return []
    channels = [int(c) for c in text.split(",")]
    if any(c <= 0 for c in channels):
        raise argparse.ArgumentTypeError("conv channels must be positive")
    return channels


def positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive: {text}")
        return value
    return parse


def network_options(net: str, rnn: bool, conv: Optional[List[int]]):
    """bench_learner_update's --net presets (see bench/learner_update.cc)."""
    if net == "nethack":  # ONI-sized
        return ModelOptions(
            image_channels=3, crop=72, conv_channels=[32, 64, 128],
            conv_kernels=[8, 4, 3], conv_strides=[4, 2, 2], hidden=512,
            num_stats=27, stats_hidden=128, message_len=256,
            message_hidden=128, num_actions=28, use_rnn=True, rnn_hidden=512)
    model = ModelOptions(use_rnn=rnn)
    if conv is not None:
        model.conv_channels = conv
    return model


def write_profile(learner: "Learner", batch: Batch, path: str) -> None:
    """Five updates under torch.profiler; their ops by total device time
    (CPU time where there is no GPU) as a table in path."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    sort = "cpu_time_total"
    if torch.cuda.is_available():
        activities.append(torch.profiler.ProfilerActivity.CUDA)
        sort = "cuda_time_total"
    with torch.profiler.profile(activities=activities) as profiler:
        for _ in range(5):
            learner.step(batch)
    with open(path, "w", encoding="utf-8") as f:
        f.write(profiler.key_averages().table(sort_by=sort, row_limit=30))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Times one APPO learner update in PyTorch (the baseline "
        "of build/bin/bench_learner_update; same defaults).")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--net", choices=["grid", "nethack"], default="grid",
                        help="quickstart-sized or ONI-sized NetHack network")
    parser.add_argument("--bf16", action="store_true",
                        help="forward and loss under bf16 autocast")
    parser.add_argument("--compile", action="store_true",
                        help="forward and loss through torch.compile")
    parser.add_argument("--data", choices=["host", "device"], default="host",
                        help="where the batch is before each update")
    parser.add_argument("--batch", type=positive(int), default=32)
    parser.add_argument("--unroll", type=positive(int), default=32)
    parser.add_argument("--seconds", type=positive(float), default=3.0,
                        help="timed seconds (ignored with --iters)")
    parser.add_argument("--iters", type=int, default=0,
                        help="exactly this many timed updates (0: --seconds)")
    parser.add_argument("--threads", type=positive(int), default=1)
    parser.add_argument("--rnn", action="store_true")
    parser.add_argument("--conv", type=parse_conv, default=None,
                        help="C1,C2,... | none | default (32,32)")
    parser.add_argument("--warmup", type=int, default=5,
                        help="at least this many untimed updates ...")
    parser.add_argument("--warmup-seconds", type=float, default=0.5,
                        help="... and at least this long (as the C++)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", metavar="FILE",
                        help="after timing, write torch.profiler's table "
                        "of 5 more updates (by device time) to FILE")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available", file=sys.stderr)
        return 1

    model = network_options(args.net, args.rnn, args.conv)
    print("config: " + " ".join(
        f"{k}={{{','.join(map(str, v))}}}" if isinstance(v, list)
        else f"{k}={int(v) if isinstance(v, bool) else v}"
        for k, v in dataclasses.asdict(model).items()))

    torch.manual_seed(args.seed)
    learner = Learner(model, UpdateOptions(), args.device, bf16=args.bf16,
                      compile=args.compile)
    params = sum(p.numel() for p in learner.model.parameters())
    print(f"parameters={params} device={args.device} batch={args.batch} "
          f"unroll={args.unroll} threads={args.threads} "
          f"torch={torch.__version__}")

    # Batches arrive on the CPU, as from the learner's queue; step moves them.
    batch = random_batch(model, args.unroll, args.batch)
    if args.data == "device":
        batch = Batch(*(t.to(args.device) for t in batch))
    warmup_end = time.perf_counter() + args.warmup_seconds
    warmup = 0
    while warmup < args.warmup or time.perf_counter() < warmup_end:
        learner.step(batch)
        warmup += 1

    start = time.perf_counter()
    updates = 0
    elapsed = 0.0
    while (updates < args.iters if args.iters > 0
           else elapsed < args.seconds):
        loss = learner.step(batch)["total_loss"]
        updates += 1
        elapsed = time.perf_counter() - start
    updates_per_s = updates / elapsed
    if args.profile:
        write_profile(learner, batch, args.profile)
    print(f"warmup={warmup} updates={updates} seconds={elapsed:.3f} "
          f"ms_per_update={1000 * elapsed / updates:.2f} "
          f"last_loss={loss:.4f}")
    print(json.dumps({
        "name": "learner_update_pytorch", "device": args.device,
        "batch": args.batch, "unroll": args.unroll,
        "samples_per_s": round(updates_per_s * args.batch * args.unroll, 1),
        "updates_per_s": round(updates_per_s, 3), "threads": args.threads,
        "params": params, "torch": torch.__version__, "net": args.net,
        "conv": model.conv_channels, "rnn": model.use_rnn, "bf16": args.bf16,
        "compile": args.compile, "data": args.data}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
