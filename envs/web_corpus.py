"""BFCL's web search tools (WebSearchAPI) served from a user-supplied frozen corpus: never the network.

    from funreason.envs.web_corpus import FrozenWebSearchAPI
    api = FrozenWebSearchAPI()
    api._load_scenario({"show_snippet": True, "corpus": "corpus.jsonl"})
    api.search_engine_query(keywords="highest mountain in europe", max_results=3)   # [{title, href, body}, ...]
    api.fetch_url_content(url="https://en.wikipedia.org/wiki/Mount_Elbrus", mode="truncate")   # {"content": ...}

BFCL's own WebSearchAPI (bfcl_eval .../func_source_code/web_search.py) queries SerpAPI (DuckDuckGo) and fetches
pages with `requests`; results drift with the web and need a key. `envs.bfcl` builds this class instead whenever an
entry names WebSearchAPI, with BFCL's tool docs, method names, signatures and result shapes, so the model sees the
same tools. Scores from a corpus are not comparable to the leaderboard's (the report says so).

Corpus format: JSON Lines, one page per line:
    {"url": "https://...", "title": "...", "snippet": "...", "content": "..."}
  - `url` (required, unique, http:// or https://) is what search results link to and fetch_url_content looks up;
  - `title` and `snippet` are what a search result shows (`body` is accepted for `snippet`); `snippet` defaults to
    the first 300 characters of the content;
  - `content` (required) is the page: what every mode returns, unless the line also carries per-mode text in
    `raw`, `markdown` or `truncate` (BFCL returns the HTML, html2text's markdown, or the visible text).
Search ranks pages by BM25+ (rank_bm25, as BFCL's kv memory) over title, snippet and content, lowercased and split
on non-alphanumerics; pages with no query term are not returned; ties keep corpus order; `region` is accepted and
ignored (the corpus has one region). `show_snippet` False drops `body`, as BFCL's no_snippet category does.
A URL the corpus lacks is BFCL's fetch error shape: {"error": "An error occurred while fetching <url>: 404 ..."}.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from funreason.core.errors import UserError
from funreason.core.jsonl import iter_jsonl

_TOKEN = re.compile(r"[a-z0-9]+")
MODES = ("raw", "markdown", "truncate")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime_ns: int, size: int) -> tuple[list[dict], dict[str, int], object]:
    """(pages, url -> index, BM25 index) of a corpus file; cached per file version (every entry builds an API)."""
    from rank_bm25 import BM25Plus

    pages: list[dict] = []
    by_url: dict[str, int] = {}
    for n, row in iter_jsonl(path):  # a line Python's json cannot read: a JsonlError naming it
        if not isinstance(row, dict):
            raise UserError(f"{path} line {n}: expected an object with url, title, snippet, content")
        url, content = row.get("url"), row.get("content")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UserError(f"{path} line {n}: 'url' must be an http(s) URL string")
        if not isinstance(content, str):
            raise UserError(f"{path} line {n}: 'content' must be a string (the page text)")
        if url in by_url:
            raise UserError(f"{path} line {n}: duplicate url {url!r} (first on an earlier line)")
        snippet = row.get("snippet", row.get("body"))
        page = {
            "url": url,
            "title": str(row.get("title") or url),
            "snippet": str(snippet) if snippet is not None else content[:300],
            "content": content,
            **{m: row[m] for m in MODES if isinstance(row.get(m), str)},
        }
        by_url[url] = len(pages)
        pages.append(page)
    if not pages:
        raise UserError(f"{path}: the web search corpus holds no pages")
    tokenized = [_tokens(f"{p['title']} {p['snippet']} {p['content']}") for p in pages]
    for page, tokens in zip(pages, tokenized):
        page["_terms"] = frozenset(tokens)
    return pages, by_url, BM25Plus(tokenized)


def load_corpus(path: str | Path) -> tuple[list[dict], dict[str, int], object]:
    p = Path(path).expanduser()
    if not p.is_file():
        raise UserError(f"eval.web_search_corpus: file not found: {p}")
    st = p.stat()
    return _load(str(p.resolve()), st.st_mtime_ns, st.st_size)


class FrozenWebSearchAPI:
    """BFCL's WebSearchAPI tools over a frozen corpus (see the module docstring for the corpus format)."""

    def __init__(self):
        self._api_description = (
            "This tool belongs to the Web Search API category. It provides functions to search the web and browse "
            "search results."
        )
        self.show_snippet = True
        self._corpus: str | None = None

    def _load_scenario(self, initial_config: dict, long_context: bool = False):
        self.show_snippet = initial_config["show_snippet"]
        corpus = initial_config.get("corpus")
        if not corpus:
            raise UserError(
                "web search runs only against a frozen corpus: set eval.web_search_corpus (the live web is never "
                "queried)"
            )
        load_corpus(corpus)  # validate now, not at the first search
        self._corpus = str(corpus)

    def search_engine_query(
        self,
        keywords: str,
        max_results: int | None = 10,
        region: str | None = "wt-wt",
    ) -> list:
        """
        This function queries the search engine for the provided keywords and region.

        Args:
            keywords (str): The keywords to search for.
            max_results (int, optional): The maximum number of search results to return. Defaults to 10.
            region (str, optional): The region to search in. Defaults to "wt-wt".

        Returns:
            list: A list of search result dictionaries, each containing 'title', 'href' and (with snippets) 'body'.
        """
        pages, _, index = load_corpus(self._corpus)
        query = _tokens(str(keywords))
        if not query:
            return []
        scores = index.get_scores(query)
        terms = set(query)
        ranked = sorted(range(len(pages)), key=lambda i: -scores[i])  # stable: ties keep corpus order
        results = []
        for i in ranked:
            if max_results is not None and len(results) >= max_results:
                break
            page = pages[i]
            if not terms & page["_terms"]:
                continue
            hit = {"title": page["title"], "href": page["url"]}
            if self.show_snippet:
                hit["body"] = page["snippet"]
            results.append(hit)
        return results

    def fetch_url_content(self, url: str, mode: str = "raw") -> str:
        """
        This function retrieves content from the provided URL and processes it based on the selected mode.

        Args:
            url (str): The URL to fetch content from. Must start with 'http://' or 'https://'.
            mode (str, optional): "raw", "markdown" or "truncate". Defaults to "raw".
        """
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Invalid URL: {url}")  # raised outside BFCL's try block too
        pages, by_url, _ = load_corpus(self._corpus)
        if mode not in MODES:
            return {"error": f"An error occurred while fetching {url}: Unsupported mode: {mode}"}
        if url not in by_url:
            return {"error": f"An error occurred while fetching {url}: 404 Client Error: Not Found for url: {url}"}
        page = pages[by_url[url]]
        return {"content": page.get(mode, page["content"])}
