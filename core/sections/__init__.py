"""The recipe schema as pure data: one dataclass per recipe section, with help text on every field.

Each stage's code reads its section from here; nothing here imports a stage, so loading a recipe for one stage
never imports another stage's modules (tests/test_layers.py).
"""
