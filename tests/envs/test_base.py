"""The Environment protocol helpers: tool names, public state, snapshots, construction and generated docs.

OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q tests/envs/test_base.py
"""

from __future__ import annotations

from typing import Literal

from funreason.envs.base import Environment, create, public_state, snapshot, tool_docs, tool_names


class Base:
    def inherited(self) -> str:
        """Say hi."""
        return "hi"


class Bank(Base):
    def __init__(self) -> None:
        self.balance: int = 0
        self.history: list = []
        self._api_description = "A toy bank."
        self.callback = print  # a callable attribute is state, not a tool

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        self.balance = scenario.get("balance", 0)
        self.history = scenario.get("history", [])

    def deposit(self, amount: float, note: str | None = None, tags: list[str] = ()) -> dict:  # noqa: B006
        """Put money in the account.

        Args:
            amount (float): How much to deposit,
                in dollars.
            note (str): [Optional] A note for the statement.
            tags (List[str]): Labels.

        Returns:
            balance (int): The new balance.
        """
        self.balance += amount
        self.history.append(amount)
        return {"balance": self.balance}

    def transfer(self, target: dict, mode: Literal["fast", "slow"] = "slow", count: int = 1) -> dict:
        """Send money.

        Args:
            target (dict): Where to.
                - iban (str): The account.
                - amount (float): The amount.
            mode (str): Speed.
            count (int): Repeats.
        """
        return {}

    @classmethod
    def bank_name(cls) -> str:
        """The bank's name."""
        return "toy"

    @staticmethod
    def helper() -> None:
        """Not a tool: static methods are not bound methods."""

    @property
    def total(self) -> int:
        return self.balance

    def _private(self) -> None: ...

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Bank) and other.balance == self.balance

    __hash__ = None


class Documented:
    _tool_docs = [{"name": "ping", "description": "Ping.", "parameters": {"type": "dict", "properties": {}}}]

    def ping(self) -> str:
        return "pong"


def test_tool_names_are_public_methods_of_the_class():
    bank = create(Bank, {"balance": 5})
    assert tool_names(bank) == ["bank_name", "deposit", "inherited", "transfer"]
    assert tool_names(Bank) == tool_names(bank)
    assert tool_names(object()) == []


def test_public_state_snapshot_and_create():
    config = {"balance": 5, "history": [1]}
    bank = create(Bank, config)
    assert isinstance(bank, Environment)
    assert public_state(bank) == {"balance": 5, "history": [1], "callback": print}
    frozen = snapshot(bank)
    bank.deposit(2)
    assert config == {"balance": 5, "history": [1]}  # create() loads a deep copy
    assert frozen["history"] == [1] and public_state(bank)["history"] == [1, 2]
    assert public_state(create(Bank)) == {"balance": 0, "history": [], "callback": print}


def test_tool_docs_generated_in_bfcl_dialect():
    docs = {d["name"]: d for d in tool_docs(create(Bank))}
    assert list(docs) == ["bank_name", "deposit", "inherited", "transfer"]
    assert docs["deposit"] == {
        "name": "deposit",
        "description": "A toy bank. Tool description: Put money in the account.",
        "parameters": {
            "type": "dict",
            "properties": {
                "amount": {"type": "float", "description": "How much to deposit, in dollars."},
                "note": {"type": "string", "description": "A note for the statement.", "default": "None"},
                "tags": {"type": "array", "items": {"type": "string"}, "description": "Labels. ", "default": ()},
            },
            "required": ["amount"],
        },
        "response": {"type": "dict", "properties": {"balance": {"type": "integer", "description": "The new balance."}}},
    }
    transfer = docs["transfer"]["parameters"]
    assert transfer["required"] == ["target"]
    assert transfer["properties"]["target"]["properties"] == {
        "iban": {"type": "string", "description": "The account."},
        "amount": {"type": "float", "description": "The amount."},
    }
    assert transfer["properties"]["mode"] == {
        "type": "string",
        "enum": ["fast", "slow"],
        "description": "Speed.",
        "default": "slow",
    }
    assert docs["bank_name"]["parameters"] == {"type": "dict", "properties": {}, "required": []}
    # a class (no instance attributes yet) gets the same docs minus the instance's _api_description prefix
    assert tool_docs(Bank)[1]["description"] == "Put money in the account."


def test_tool_docs_supplied_by_the_class_win():
    docs = tool_docs(Documented())
    assert docs == Documented._tool_docs and docs is not Documented._tool_docs
    docs[0]["name"] = "changed"
    assert Documented._tool_docs[0]["name"] == "ping"
