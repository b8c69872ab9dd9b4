"""A small stateful Environment for synthesis tests: a tiny library with a login precondition and value flow.

    from tests.toy_env import ToyLibrary
    env = envs.base.create(ToyLibrary, ToyLibrary.generate_config(random.Random(0)))

`checkout` and `renew` need `login` first (execution-probing edge); `find_book` returns the `book_id` that
`checkout`/`book_info` take (value-flow edge). Used as `tests.toy_env:ToyLibrary` in synth.environments.
"""

from __future__ import annotations

import random

_TITLES = ["Salt Roads", "Copper Atlas", "Nine Lanterns", "Quiet Orbit", "Paper Tides", "Amber Index"]


class ToyLibrary:
    _api_description = "A toy library catalogue."

    def __init__(self) -> None:
        self.books: dict[str, dict] = {}
        self.member: str | None = None
        self.loans: list[str] = []
        self._password = ""

    @staticmethod
    def generate_config(rng: random.Random) -> dict:
        titles = rng.sample(_TITLES, k=4)
        books = {
            f"B{rng.randint(100, 999)}{i}": {"title": t, "available": rng.random() < 0.8} for i, t in enumerate(titles)
        }
        return {
            "books": books,
            "member_name": rng.choice(["ivo", "nell", "tam"]),
            "password": f"pw{rng.randint(10, 99)}",
        }

    def _load_scenario(self, scenario: dict, long_context: bool = False) -> None:
        self.books = scenario.get("books", {})
        self.member = None
        self.loans = []
        self._member_name = scenario.get("member_name", "guest")
        self._password = scenario.get("password", "")

    def _value_pools(self) -> dict:
        """Candidate arguments for the synthesis sampler (titles a user could ask for, the member's credentials)."""
        return {
            "title": [b["title"] for b in self.books.values()],
            "name": [self._member_name],
            "password": [self._password],
            "book_id": list(self.loans) if self.loans else list(self.books),
        }

    def login(self, name: str, password: str) -> dict:
        """Log a member in.

        Args:
            name (str): Member name.
            password (str): Member password.

        Returns:
            logged_in (bool): Whether the login worked.
        """
        if name == self._member_name and password == self._password:
            self.member = name
            return {"logged_in": True}
        return {"error": "wrong credentials"}

    def find_book(self, title: str) -> dict:
        """Find a book by its exact title.

        Args:
            title (str): The book title.

        Returns:
            book_id (str): The book's identifier.
        """
        for book_id, book in self.books.items():
            if book["title"] == title:
                return {"book_id": book_id}
        return {"error": f"no book titled {title}"}

    def book_info(self, book_id: str) -> dict:
        """Show a book's record.

        Args:
            book_id (str): The book's identifier.

        Returns:
            title (str): Title.
            available (bool): Whether it can be borrowed.
        """
        if book_id not in self.books:
            return {"error": f"unknown book {book_id}"}
        return dict(self.books[book_id])

    def checkout(self, book_id: str) -> dict:
        """Borrow a book (members only).

        Args:
            book_id (str): The book's identifier.

        Returns:
            loans (list): The member's current loans.
        """
        if self.member is None:
            return {"error": "please log in first"}
        book = self.books.get(book_id)
        if book is None or not book["available"]:
            return {"error": f"book {book_id} cannot be borrowed"}
        book["available"] = False
        self.loans.append(book_id)
        return {"loans": list(self.loans)}

    def renew(self, book_id: str) -> dict:
        """Renew a loan (members only).

        Args:
            book_id (str): The book's identifier.

        Returns:
            renewed (str): The renewed book.
        """
        if self.member is None:
            return {"error": "please log in first"}
        if book_id not in self.loans:
            return {"error": f"{book_id} is not on loan"}
        return {"renewed": book_id}
