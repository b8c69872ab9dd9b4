"""Resume picks the newest checkpoint that was completely written, never one a kill tore."""

from __future__ import annotations

import struct

from funreason.train.common import last_checkpoint

# A whole one-tensor safetensors file (header, then 4 bytes of data); tests/train/test_resume.py tears real ones.
HEADER = b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
SAFETENSORS = struct.pack("<Q", len(HEADER)) + HEADER + b"\0" * 4


def test_last_checkpoint_skips_a_torn_one(tmp_path):
    assert last_checkpoint(tmp_path / "missing") is None
    assert last_checkpoint(tmp_path) is None
    for step, whole in ((2, True), (4, True), (6, False), (10, False)):
        d = tmp_path / f"checkpoint-{step}"
        d.mkdir()
        (d / "model.safetensors").write_bytes(SAFETENSORS)
        if whole:
            (d / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-x").mkdir()  # not a checkpoint
    assert last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
