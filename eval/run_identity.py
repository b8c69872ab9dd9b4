"""What a label's result rows were made with (its run identity), and the rules that keep rows of two identities apart.

    from funreason.eval.run_identity import run_identity, claim_label
    identity = run_identity(recipe, section, model_path, tasks, max_context, single, agentic)
    claim_label(out, label, identity, resume=True, fresh=False)   # UserError naming what differs, or fine

Run identity per label: the model (path and a fingerprint of its weights files), backend and sampling, chat
options (the holdout mode among them), categories/ids/limit, data file hashes, max_new_tokens and max_context; it is
written to identity.json before the first row. `resume=True` with another identity, or a run without `resume` over
finished rows, is refused in one line saying what differs and how to start over: `fresh=True`
(`funreason eval --fresh`) moves the label's old results into `<label>/superseded-<time>/`, or use another label.
Transport settings (URLs, keys, timeouts, concurrency, batch sizes) are not identity.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path

from funreason.core.atomic import atomic_write_json
from funreason.core.errors import UserError
from funreason.core.provenance import sha256_file
from funreason.core.sections.eval import EvalSection
from funreason.eval.single_run import data_files


def weights_fingerprint(model_path: str | Path) -> str:
    """A cheap fingerprint of a model dir's weights: name, size and the hash of the first 64 KiB and last 1 MiB of
    every weights file and of config.json (a retrained checkpoint at the same path differs; a copy does not)."""
    digest = hashlib.sha256()
    root = Path(model_path)
    files = sorted(p for p in root.rglob("*") if p.is_file() and (p.suffix in (".safetensors", ".bin", ".pt")))
    for path in [root / "config.json", *files]:
        if not path.is_file():
            continue
        size = path.stat().st_size
        digest.update(f"{path.relative_to(root)}:{size}".encode())
        with open(path, "rb") as f:
            digest.update(f.read(1 << 16))
            if size > 1 << 16:
                f.seek(max(1 << 16, size - (1 << 20)))
                digest.update(f.read())
    return digest.hexdigest()[:16]


def run_identity(recipe, section: EvalSection, model_path: str, tasks, max_context, single=(), agentic=()) -> dict:
    """What the rows of a label depend on (see the module docstring); transport settings are left out.
    `single`, `agentic`: the other categories run beside the multi-turn `tasks` (their data files count too; so
    does a web-search corpus)."""
    data = dict(tasks.provenance["files"]) | {str(p): sha256_file(p) for p in data_files(list(single))}
    if section.web_search_corpus and any(c.startswith("web_search") for c in agentic):
        data[str(section.web_search_corpus)] = sha256_file(section.web_search_corpus)
    return {
        "model": str(Path(model_path).resolve()),
        "weights": weights_fingerprint(model_path),
        "backend": section.backend,
        "sampling": {"temperature": section.temperature, "top_p": section.top_p, "seed": recipe.seed},
        "chat": asdict(recipe.chat),
        "categories": sorted(tasks.entries) + sorted(single) + sorted(agentic),
        "ids": section.ids,
        "limit": section.limit,
        "data": dict(sorted(data.items())),
        "max_new_tokens": section.max_new_tokens,
        "max_context": max_context,
    }


def _differences(old: dict, new: dict) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{key}.{d}" for d in _differences(a, b)]
        else:
            show = lambda v: s if len(s := json.dumps(v, default=str)) <= 60 else s[:57] + "..."  # noqa: E731
            out.append(f"{key} {show(a)} -> {show(b)}")
    return out


def finished_rows(out: Path) -> int:
    """Result rows already in a label's dir (every result file under `result/`)."""
    count = 0
    for path in (out / "result").rglob("*_result.json") if (out / "result").is_dir() else []:
        with open(path, "rb") as f:
            count += sum(1 for line in f if line.strip())
    return count


def supersede(out: Path) -> Path | None:
    """Move a label's results, scores, metadata and identity into `<out>/superseded-<time>/`; never delete."""
    names = [n for n in ("result", "score", "metadata.json", "identity.json") if (out / n).exists()]
    if not names:
        return None
    dest = out / f"superseded-{time.strftime('%Y%m%d-%H%M%S')}"
    while dest.exists():
        dest = dest.with_name(dest.name + "_")
    dest.mkdir(parents=True)
    for name in names:
        shutil.move(str(out / name), str(dest / name))
    return dest


def check_identity(out: Path, label: str, identity: dict, resume: bool) -> None:
    """Refuse to mix rows of another run identity into a label, or to drop finished rows without being asked."""
    rows = finished_rows(out)
    path = out / "identity.json"
    old = None
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
    start_over = f"pass --fresh to move them into {out}/superseded-<time>/, or use another --label"
    if rows and not resume:
        raise UserError(
            f"eval label {label!r} already holds {rows} finished result rows in {out}; pass --resume to keep them "
            f"and run the rest, {start_over}"
        )
    if rows and isinstance(old, dict) and old != identity:
        diff = "; ".join(_differences(old, identity))
        raise UserError(f"eval label {label!r} in {out} was run with another identity ({diff}); {start_over}")


def claim_label(out: Path, label: str, identity: dict, resume: bool, fresh: bool) -> None:
    """Move old results aside when `fresh`, refuse another identity's rows, then record this identity."""
    if fresh:
        moved = supersede(out)
        if moved is not None:
            print(f"[eval] {label}: earlier results moved into {moved}")
    check_identity(out, label, identity, resume)
    atomic_write_json(out / "identity.json", identity)
