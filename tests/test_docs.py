"""Docs that are generated must match the code they are generated from."""

from __future__ import annotations

from pathlib import Path

from funreason.reference import render

REPO = Path(__file__).resolve().parents[1]


def test_configuration_reference_is_current():
    committed = (REPO / "docs" / "configuration.md").read_text()
    assert committed == render(), (
        "docs/configuration.md is stale: run `funreason config-reference > docs/configuration.md`"
    )


def test_readme_states_the_two_commands_and_ci_runs_make_test():
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
