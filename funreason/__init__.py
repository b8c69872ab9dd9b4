"""FunReason-MT: synthesize multi-turn function-calling data, train with TRL, evaluate as BFCL scores.

Installed, this is the one namespace of the project: the stage folders of the repository install beneath it
(`funreason.core`, `funreason.chat`, `funreason.envs`, `funreason.synth`, `funreason.train`, `funreason.eval`; see
docs/design.md for what each owns). The package itself holds the `funreason` command line (`cli`, `pipeline` for
`funreason run`, `reference` for the configuration reference), the fixtures the tests and the demo build locally
(`fixtures`: the tiny model, Qwen3's tokenizer) and the opt-in experiments (`experiments`: the real model, the
learning check).
"""

__version__ = "0.1.0"
