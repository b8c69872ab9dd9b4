"""Stateful tool environments: the protocol (`envs.base`), the safe call dispatcher (`envs.dispatch`), BFCL's
backends (`envs.bfcl`), seeded initial states (`envs.states`) and the per-turn checker (`envs.verify`).

Import the submodules directly (`from envs.dispatch import Dispatcher`); this package imports nothing so that
`envs.bfcl` can set BFCL_PROJECT_ROOT before anything touches `bfcl_eval`.
"""
