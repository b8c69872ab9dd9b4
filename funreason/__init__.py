"""FunReason-MT: synthesize multi-turn function-calling data, train with TRL, evaluate on BFCL multi-turn.

The library is split by job (see docs/design.md): `envs` and `chat` are the shared substrate; `synth`, `train` and
`eval` stand on them. This package holds what ties them together: the recipe loader, the tiny-model builder,
run provenance and the `funreason` command.
"""

__version__ = "0.1.0"
