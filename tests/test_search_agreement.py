"""lunr.py and lunr.js, each loading the same payload, return the same results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path

import pytest
from test_search_index import corpus_docs, small_docs

from generator import search
from generator.search import build_search_files, load_payload, search_shards

REPO = Path(__file__).resolve().parent.parent
DRIVER = REPO / "tests" / "js" / "search_driver.js"
LUNR_JS = REPO / "site_src" / "vendor" / "lunr" / "lunr.js"
SEARCH_JS = REPO / "site_src" / "js" / "search.js"

QUERIES = [
    "diffusion",
    "language model",
    "reinforcement learning reward",
    "café",
    "Poincaré",
    "μ-Transfer",
    "naïve",
    "𝔘nicode",
    "title:prune",
    "abstract:hypernetwork",
    "trans*",
    "*former",
    "reward~1",
    "+diffusion -image",
    "+pruning +sparsity",
    "-diffusion",
    "attention^10 memory",
    "sparse mixture of experts",
    "3D scenes",
    "GPT-4",
    "(e.g.,",
    "foo:",
    "a~",
    "^",
    "title:",
    "+",
    "-",
    '"unmatched',
    "x" * 5000,
    "+(",
    "abc~99",
    # Words ending in y, which lunr.py's own stemmer stems unlike lunr.js ("delai" for "delay")
    "delay",
    "key",
    "display",
    "array",
    "employed",
    "everyday",
    "try",
    "fly",
]


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is required for the search agreement tests")
        pytest.skip("node is not installed")
    return node


@cache
def _docs() -> tuple[search.SearchDoc, ...]:
    return corpus_docs() + tuple(small_docs())


def _write(files: dict[str, bytes], root: Path) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def run_node(site: Path, request: dict) -> dict:
    """Run the Node driver on a written payload and return its JSON answer."""
    command = [_node(), str(DRIVER), str(site), str(LUNR_JS), str(SEARCH_JS)]
    done = subprocess.run(
        command, input=json.dumps(request), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _python(shards: list[search.LoadedShard], query: str) -> dict:
    top = search_shards(shards, query)[:10]
    return {"refs": [r["ref"] for r in top], "scores": [r["score"] for r in top]}


@pytest.mark.parametrize("shard_size", [search.DEFAULT_SHARD_SIZE, 45])
def test_top_ten_agree(tmp_path: Path, shard_size: int) -> None:
    files = build_search_files(_docs(), shard_size=shard_size)
    answer = run_node(_write(files, tmp_path), {"queries": QUERIES, "limit": 10})
    _, shards = load_payload(files)
    for query, js in zip(QUERIES, answer["results"], strict=True):
        assert js["error"] is None, (query, js["error"])
        py = _python(shards, query)
        assert py["refs"] == js["refs"], query
        assert py["scores"] == js["scores"], query
    found = [js for js in answer["results"] if js["refs"]]
    assert len(found) >= 20  # the queries do exercise the index


def test_unpacked_indexes_are_identical(tmp_path: Path) -> None:
    files = build_search_files(_docs(), shard_size=200)
    answer = run_node(_write(files, tmp_path), {"queries": [], "dump": True})
    manifest = search.read_script(files["search/manifest.js"])
    for number, js in enumerate(answer["unpacked"]):
        shard = search.read_script(files[search.shard_paths(files)[number]])
        py = search.unpack_shard(shard, manifest["fields"])
        assert py["fieldVectors"] == js["fieldVectors"]
        assert dict(map(tuple, py["invertedIndex"])) == dict(map(tuple, js["invertedIndex"]))
        assert py["pipeline"] == js["pipeline"] and py["fields"] == js["fields"]


def test_highlight_ranges_convert_code_points_to_utf16(tmp_path: Path) -> None:
    files = build_search_files(small_docs())
    request = {
        "queries": [],
        "highlight": [
            ["😀 café", [[2, 4]]],
            ["𝔘nicode 𝔘 x", [[0, 7], [8, 1], [10, 1]]],
            ["(e.g., this)", [[0, 6], [7, 5]]],
            ["short", [[3, 99], [-4, 2]]],
        ],
    }
    answer = run_node(_write(files, tmp_path), request)
    assert answer["highlight"] == [
        [[3, 7]],
        [[0, 8], [9, 11], [12, 13]],
        [[1, 4], [7, 11]],
        [[0, 2], [3, 5]],
    ]
