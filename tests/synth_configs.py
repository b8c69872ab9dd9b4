"""Synthesis settings for tests: the special turns (miss_param, miss_func, long context, error responses) off
unless a test turns one on, so a test sees exactly the dialogue shape it is about.

    from tests.synth_configs import quiet_config, travel_chain_config
    quiet_config(environments=["GorillaFileSystem"], trace_length=[3, 3])
    travel_chain_config(error_response_ratio=1.0)      # authenticate_travel -> get_credit_card_balance
"""

from __future__ import annotations

from funreason.core.sections.synth import SynthConfig

QUIET = {
    "rounds": [1, 1],
    "miss_param_ratio": 0.0,
    "miss_func_ratio": 0.0,
    "long_context_ratio": 0.0,
    "error_response_ratio": 0.0,
}


def quiet_config(**settings) -> SynthConfig:
    return SynthConfig(**{**QUIET, **settings})


def travel_chain_config(**settings) -> SynthConfig:
    """TravelAPI aimed at get_credit_card_balance, whose access token only authenticate_travel's result holds."""
    chain = {
        "environments": ["TravelAPI"],
        "targets": ["get_credit_card_balance"],
        "target_policy": "list",
        "trace_length": [2, 2],
    }
    return quiet_config(**{**chain, **settings})
