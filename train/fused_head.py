"""Let TRL's fused LM head score only the trained positions on a CPU too, as it does on CUDA.

    from funreason.train.fused_head import score_trained_positions_only
    score_trained_positions_only()          # once, before the trainer's first step (train/sft.py, train/grpo.py)

TRL 1.16's fused LM head (`add_fused_lm_head` in trl/trainer/utils.py) computes log-probs only at the labelled
positions where Triton runs (CUDA, XPU). On every other device it scores all positions, so that tile shapes stay
fixed for compilers that recompile per shape (Neuron). On a CPU that is pure waste for our data: a full-docs SFT
example is ~6k prompt tokens (BFCL's tool docs) around ~200 trained ones, and scoring every position made the LM head
half of a tiny model's step. Measured on the smoke recipe of the time (full docs, 40 steps, 2 cores): 62.6 s -> 30.4 s,
same losses to the last digit; `benchmarks/sft_throughput.py` prints the ratio against plain SFTTrainer. The compact
path taken is TRL's own (the one CUDA takes); only the device test that picks it changes, and only in the module that
makes that choice. Why not subclass SFTTrainer.compute_loss: it would copy ~60 lines of TRL's loss and metrics code
to change one boolean.
"""

from __future__ import annotations

_MARK = "_funreason_compact_on_cpu"


def _trl_utils():
    try:
        from trl.trainer import utils
    except ImportError:  # TRL absent: nothing to speed up
        return None
    return utils if callable(getattr(utils, "_use_triton", None)) else None


def score_trained_positions_only(enabled: bool = True) -> bool:
    """Make (or, with `enabled=False`, stop making) the fused LM head compact on CPUs. Returns whether it is now
    compact on a CPU. Idempotent. A TRL without the hook (another version) is left as it is: slower, never wrong."""
    utils = _trl_utils()
    if utils is None:
        return False
    current = utils._use_triton
    original = getattr(current, _MARK, current)
    if not enabled:
        utils._use_triton = original
        return False
    if current is original:

        def compact_on_cpu(device) -> bool:
            return device.type == "cpu" or original(device)

        setattr(compact_on_cpu, _MARK, original)
        utils._use_triton = compact_on_cpu
    return True
