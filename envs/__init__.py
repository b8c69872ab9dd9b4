"""Stateful tool environments: the protocol (`envs.base`), the safe call dispatcher (`envs.dispatch`), BFCL's
backends (`envs.bfcl`), the one resolver of environment references, BFCL names or `module:Class` (`envs.resolve`),
seeded initial states (`envs.states`), the per-turn checker (`envs.verify`) and RL rewards (`envs.rewards`).

Import the submodules directly (`from envs.dispatch import Dispatcher`); this package imports nothing so that
`envs.bfcl` can set BFCL_PROJECT_ROOT before anything touches `bfcl_eval`.
"""
