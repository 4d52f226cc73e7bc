#!/usr/bin/python3
"""The PyTorch baseline of bench_learner_update: one APPO learner update.

The same network, loss, optimizer and random batch as the C++ benchmark
(bench/learner_update.cc, learner/core/), written the way Python RL learners
(Sample Factory, TorchBeast) write it: nn.Module, F.elu, a V-trace loop over
time, torch.optim.Adam, torch.nn.utils.clip_grad_norm_.

  bench/learner_update.py [--device cpu|cuda] [--batch B] [--unroll T]
                          [--seconds S | --iters N] [--threads N] [--rnn]
                          [--conv C1,C2,...|none] [--warmup N] [--seed S]

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
    conv_channels: List[int] = dataclasses.field(
        default_factory=lambda: [32, 32])
    hidden: int = 256
    stats_hidden: int = 64
    message_hidden: int = 64
    use_rnn: bool = False
    rnn_hidden: int = 256


class PolicyNet(nn.Module):
    """chars -> Embedding(256, E) -> [Conv3x3 + ELU]* -> flatten -> Linear + ELU;
    message / 255 -> 2 x (Linear + ELU); stats -> 2 x (Linear + ELU);
    concat -> Linear + ELU -> [GRUCell] -> policy Linear(A), value Linear(1).

    Modules are created in the C++ order, so a seeded generator gives the C++
    initial weights (every module keeps torch's default initialisation, as the
    C++ does), and parameters() lists them in the C++ order.
    """

    def __init__(self, o: ModelOptions):
        super().__init__()
        self.options = o
        self.embedding = nn.Embedding(256, o.char_embedding)
        channels = o.char_embedding
        self.convs = []
        for i, out in enumerate(o.conv_channels):
            conv = nn.Conv2d(channels, out, 3, padding=1)
            setattr(self, f"conv{i}", conv)  # the C++ names: conv0, conv1, ..
            self.convs.append(conv)
            channels = out
        self.map_fc = nn.Linear(channels * o.crop * o.crop, o.hidden)
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
        """chars [T, B, c, c] uint8, stats [T, B, S] float, message [T, B, L]
        uint8, first [T, B] (1: zero the state before step t), state [B, H].
        Returns logits [T, B, A], values [T, B] and the last state."""
        steps, batch = chars.shape[:2]
        n = steps * batch
        device = self.policy.weight.device
        crop = self.options.crop
        x = self.embedding(chars.to(device).reshape(n, crop, crop).long())
        if self.convs:
            x = x.permute(0, 3, 1, 2)  # [N, c, c, E] -> [N, E, c, c]
            for conv in self.convs:
                x = F.elu(conv(x))
            # Flattened in (c, c, C) order, as the C++ does: same weights,
            # same function.
            x = x.permute(0, 2, 3, 1)
        x = F.elu(self.map_fc(x.reshape(n, -1)))

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
    return Batch(
        chars=torch.randint(0, 256, (steps + 1, envs, o.crop, o.crop),
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
    """The network and its Adam optimizer; step() is one APPO update."""

    def __init__(self, model_options: ModelOptions,
                 options: Optional[UpdateOptions] = None, device="cpu"):
        self.options = options or UpdateOptions()
        self.device = torch.device(device)
        self.model = PolicyNet(model_options).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(),
                                          lr=self.options.learning_rate,
                                          eps=self.options.adam_eps)

    def step(self, batch: Batch) -> dict:
        steps, envs = batch.actions.shape
        dones = batch.dones.to(self.device)
        first = torch.cat([torch.zeros_like(dones[:1]), dones])
        logits, values, _ = self.model(batch.chars, batch.stats,
                                       batch.message, first,
                                       batch.initial_state)
        terms = appo_loss(
            target_logits=logits[:steps], values=values[:steps],
            bootstrap_value=values[steps].detach(),
            behaviour_logits=batch.behaviour_logits.to(self.device),
            actions=batch.actions.to(self.device),
            rewards=batch.rewards.to(self.device), dones=dones,
            o=self.options.loss)

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
            terms.clip_fraction, values[:steps].detach().mean()]).tolist()
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description="Times one APPO learner update in PyTorch (the baseline "
        "of build/bin/bench_learner_update; same defaults).")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
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
    parser.add_argument("--warmup", type=int, default=3,
                        help="at least this many untimed updates ...")
    parser.add_argument("--warmup-seconds", type=float, default=0.5,
                        help="... and at least this long (as the C++)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("CUDA is not available", file=sys.stderr)
        return 1

    model = ModelOptions(use_rnn=args.rnn)
    if args.conv is not None:
        model.conv_channels = args.conv
    print("config: " + " ".join(
        f"{k}={{{','.join(map(str, v))}}}" if isinstance(v, list)
        else f"{k}={int(v) if isinstance(v, bool) else v}"
        for k, v in dataclasses.asdict(model).items()))

    torch.manual_seed(args.seed)
    learner = Learner(model, UpdateOptions(), args.device)
    params = sum(p.numel() for p in learner.model.parameters())
    print(f"parameters={params} device={args.device} batch={args.batch} "
          f"unroll={args.unroll} threads={args.threads} "
          f"torch={torch.__version__}")

    # Batches arrive on the CPU, as from the learner's queue; step moves them.
    batch = random_batch(model, args.unroll, args.batch)
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
    print(f"warmup={warmup} updates={updates} seconds={elapsed:.3f} "
          f"ms_per_update={1000 * elapsed / updates:.2f} "
          f"last_loss={loss:.4f}")
    print(json.dumps({
        "name": "learner_update_pytorch", "device": args.device,
        "batch": args.batch, "unroll": args.unroll,
        "samples_per_s": round(updates_per_s * args.batch * args.unroll, 1),
        "updates_per_s": round(updates_per_s, 3), "threads": args.threads,
        "params": params, "torch": torch.__version__,
        "conv": model.conv_channels, "rnn": args.rnn}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
