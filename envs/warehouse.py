"""A small stock-keeping environment for the learning check (recipes/learning_check.yaml): three tools, short docs.

    from funreason.envs.warehouse import Warehouse
    env = envs.base.create(Warehouse, Warehouse.generate_config(random.Random(0)))
    # in a recipe: synth.environments: [funreason.envs.warehouse:Warehouse]

Why this environment: it needs what BFCL's multi-turn entries need, at a size a 1.8M-parameter model can learn on
two CPU cores. A request names an item and a quantity ("restock 7 of the box"): `find_item` turns the name into an
id, which `restock`/`ship` take, so a turn is several dependent calls and its values come from the request (names,
quantities, cities) and from an earlier result (the id). Ids are single letters, names and quantities short words
and digits, so copying a value is a step of one or two tokens for the tiny model (its tokenizer spells `oak stool`
in five); the state (stock per item, the shipment log) is what BFCL's checker compares. Its tool docs are a few
hundred tokens, where a BFCL class's are thousands, which is what makes the check fit in minutes.
"""

from __future__ import annotations

import random

# Few values of each kind, each one or two tokens of the tiny tokenizer: the model must still find in the request
# (or an earlier result) which one this turn needs, but each value recurs often enough in a few hundred SFT steps.
_NAMES = ["file", "folder", "ticket", "note", "book", "box"]
_IDS = "ABCDEF"
_CITIES = ["Rome", "Oslo", "Lima", "Paris"]


class Warehouse:
    _api_description = "Warehouse."

    def __init__(self) -> None:
        self.stock: dict[str, int] = {}
        self.shipments: list[dict] = []
        self._names: dict[str, str] = {}

    @staticmethod
    def generate_config(rng: random.Random) -> dict:
        names = rng.sample(_NAMES, k=4)
        ids = rng.sample(_IDS, k=len(names))
        return {"items": {i: {"name": n, "stock": rng.randint(2, 9)} for i, n in zip(ids, names, strict=True)}}

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        items = scenario.get("items", {})
        self.stock = {item_id: int(item["stock"]) for item_id, item in items.items()}
        self._names = {item["name"]: item_id for item_id, item in items.items()}
        self.shipments = []

    def _value_pools(self) -> dict:
        """Candidate arguments for the synthesis sampler: the item names a user could ask for, small counts."""
        return {
            "name": sorted(self._names),
            "quantity": [1, 2, 3, 4, 5],
            "city": list(_CITIES),
        }

    def find_item(self, name: str) -> dict:
        """Find an item's id.

        Args:
            name (str): Item name.

        Returns:
            item_id (str): Item id.
        """
        if name not in self._names:
            return {"error": f"no item named {name}"}
        return {"item_id": self._names[name]}

    def restock(self, item_id: str, quantity: int) -> dict:
        """Add stock.

        Args:
            item_id (str): Item id.
            quantity (int): Units.

        Returns:
            stock (int): Stock.
        """
        if item_id not in self.stock:
            return {"error": f"unknown item {item_id}"}
        if not isinstance(quantity, int) or quantity < 1:
            return {"error": "quantity must be a positive integer"}
        self.stock[item_id] += quantity
        return {"stock": self.stock[item_id]}

    def ship(self, item_id: str, quantity: int, city: str) -> dict:
        """Ship an item.

        Args:
            item_id (str): Item id.
            quantity (int): Units.
            city (str): City.

        Returns:
            stock (int): Stock.
        """
        if item_id not in self.stock:
            return {"error": f"unknown item {item_id}"}
        if not isinstance(quantity, int) or quantity < 1 or quantity > self.stock[item_id]:
            return {"error": f"cannot ship {quantity} of {item_id}"}
        self.stock[item_id] -= quantity
        self.shipments.append({"item_id": item_id, "quantity": quantity, "city": city})
        return {"stock": self.stock[item_id]}
