"""Opt-in experiments that are not part of `make test`: a real 0.5B model through the pipeline on CPU
(`make real-model`, docs/real-model.md) and the learning check (`make learning-check`,
docs/learning-check.md)."""
