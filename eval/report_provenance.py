"""report.md's provenance section: what every evaluated model's record shares, said once, then per model (and for
the report itself) only what differs, data files named apart by their shortest distinct folder tail.
"""

from __future__ import annotations

from pathlib import Path


def _provenance_items(prov: dict) -> dict[str, str]:
    """One provenance record as labelled items (what two models' records are compared by)."""
    if not prov:
        return {}
    git = prov.get("git") or {}
    items = {
        "packages": ", ".join(f"{k} {v}" for k, v in (prov.get("packages") or {}).items() if v),
        "git": f"{git.get('commit') or 'unknown'}{' (dirty)' if git.get('dirty') else ''}",
        "python": str(prov.get("python", "?")),
        "platform": str(prov.get("platform", "?")),
    }
    recipe = prov.get("recipe") or {}
    if recipe:
        items["recipe"] = f"`{recipe.get('source') or '?'}`"
        items["model"] = f"`{recipe.get('model', '?')}`"
        items["seed"] = str(recipe.get("seed", "?"))
    if prov.get("evaluated_model"):  # added by the report from the label's metadata: what was evaluated
        items["evaluated model"] = f"`{prov['evaluated_model']}`"
    for path, digest in (prov.get("data_files") or {}).items():
        items[f"file:{path}"] = digest
    return items


def file_names(paths: list[str]) -> dict[str, str]:
    """Each path's shortest tail of folders that no other path shares: two different files both called
    `BFCL_v4_multi_turn_base.json` (the questions and the possible answers) become `data/...` and
    `possible_answer/...`, never the same name twice."""
    parts = {p: Path(p).parts for p in paths}
    names = {}
    for p, mine in parts.items():
        for k in range(1, len(mine) + 1):
            tail = mine[-k:]
            if all(other[-k:] != tail for q, other in parts.items() if q != p):
                break
        names[p] = "/".join(tail)
    return names


def _label_provenance(x: dict) -> dict:
    """A label's provenance plus the model it evaluated (metadata `model`), which differs per label."""
    prov = x["metadata"].get("provenance", {})
    model = x["metadata"].get("model")
    return {**prov, "evaluated_model": model} if prov and model else prov


def _provenance_section(records: list[tuple[str, dict]]) -> list[str]:
    """What every model shares, once; then, per model and for the report (the last record), only what differs
    (files named unambiguously)."""
    items = {name: _provenance_items(prov) for name, prov in records}
    recorded = [items[name] for name, prov in records[:-1] if prov]  # the models (the last record is the report)
    keys = {k for i in recorded for k in i}
    first = recorded[0] if recorded else {}
    shared = {k: first[k] for k in sorted(keys) if k in first and all(i.get(k) == first[k] for i in recorded)}
    if len(recorded) < 2:
        shared = {}
    names = file_names(sorted({k[5:] for k in keys if k.startswith("file:")}))

    def lines(entries: dict[str, str], indent: str) -> list[str]:
        out = [f"{indent}- {k}: {v}" for k, v in entries.items() if not k.startswith("file:")]
        out += [f"{indent}- file `{names[k[5:]]}` sha256 `{v}`" for k, v in entries.items() if k.startswith("file:")]
        return out

    out = []
    if shared:
        out += ["Shared by every model:", *lines(shared, "")]
        out.append("")
    for name, prov in records:
        own = {k: v for k, v in items[name].items() if k not in shared}
        when = prov.get("timestamp", "?") if prov else None
        if not prov:
            out.append(f"- **{name}**: no provenance recorded")
            continue
        out.append(f"- **{name}** (at {when})" + (":" if own else ": nothing else differs"))
        out += lines(own, "  ")
    return out
