"""Dynamic sampling for GRPO (DAPO, Yu et al. 2025): groups whose rollouts all earned the same reward teach nothing.

    from funreason.train.dynamic_sampling import SamplingCounts, find_groups, resample_flat_groups
    groups = find_groups(task_keys, group_size=4)              # consecutive rollouts of one task
    episodes, counts = resample_flat_groups(episodes, groups, reward_of, rerun, tries=2)
    skip = counts.skip_mask(len(episodes))                     # 1 = leave this rollout out of the loss

A group with zero reward variance has advantage 0 for every member, so it adds no policy gradient; it still dilutes
the loss (TRL normalizes by all completion tokens) and its KL term. The recipe switch `grpo.dynamic_sampling`:
- `none`: TRL's behaviour (it logs the share as `frac_reward_zero_std`);
- `skip`: such groups are left out of the loss (their completion mask is zeroed), counted;
- `resample`: each such group is rolled out again, up to `grpo.resample_tries` times, and replaced by the first
  retry that has variance; groups still flat after that are skipped. Counted as well.
Only groups whose rollouts all sit in this process's batch are touched (TRL's sampler repeats a task
`num_generations` times in a row); a group split across processes is left to TRL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def find_groups(task_keys: Sequence[str], group_size: int) -> list[range]:
    """Spans of `group_size` consecutive rollouts of the same task, aligned from the start of the batch."""
    groups = []
    for start in range(0, len(task_keys) - group_size + 1, group_size):
        span = range(start, start + group_size)
        if len({task_keys[i] for i in span}) == 1:
            groups.append(span)
    return groups


def is_flat(rewards: Sequence[float], tolerance: float = 1e-9) -> bool:
    """True when every reward of a group is the same (zero variance: every advantage is 0)."""
    return max(rewards) - min(rewards) <= tolerance


@dataclass
class SamplingCounts:
    """What dynamic sampling saw and did in one batch (logged per step as `dynamic_sampling/*`)."""

    groups: int = 0
    flat: int = 0  # groups with zero reward variance as first rolled out
    resampled: int = 0  # flat groups rolled out again (each retry counted)
    recovered: int = 0  # flat groups replaced by a retry with variance
    skipped: list[range] = field(default_factory=list)  # groups left out of the loss

    def skip_mask(self, size: int) -> list[int]:
        mask = [0] * size
        for span in self.skipped:
            for i in span:
                mask[i] = 1
        return mask

    def metrics(self) -> dict[str, float]:
        total = max(self.groups, 1)
        return {
            "dynamic_sampling/flat_group_share": self.flat / total,
            "dynamic_sampling/resampled_groups": float(self.resampled),
            "dynamic_sampling/recovered_groups": float(self.recovered),
            "dynamic_sampling/skipped_group_share": len(self.skipped) / total,
        }


def resample_flat_groups(
    episodes: list,
    groups: list[range],
    reward_of: Callable[[object], float],
    rerun: Callable[[list], list] | None,
    tries: int,
) -> tuple[list, SamplingCounts]:
    """Retry each flat group up to `tries` times with `rerun(episodes of the group) -> new episodes`; skip the rest.

    `rerun=None` or `tries=0` is plain skipping. Returns the (possibly replaced) episodes and the counts.
    """
    episodes = list(episodes)
    counts = SamplingCounts(groups=len(groups))
    for span in groups:
        members = [episodes[i] for i in span]
        if not is_flat([reward_of(ep) for ep in members]):
            continue
        counts.flat += 1
        for _ in range(tries if rerun is not None else 0):
            counts.resampled += 1
            retry = rerun(members)
            if not is_flat([reward_of(ep) for ep in retry]):
                for i, ep in zip(span, retry, strict=True):
                    episodes[i] = ep
                counts.recovered += 1
                break
        else:
            counts.skipped.append(span)
    return episodes, counts
