"""The build cache that `make test` primes holds each chapter, matched by its code, outputs intact."""

import pathlib

import nbformat
import pytest
from jupyter_cache import get_cache
from nbformat.v4 import new_code_cell, new_notebook, new_output

from tests.prime_build_cache import prime


def test_primed_cache_matches_the_notebook_and_keeps_its_outputs(tmp_path):
    chapters = tmp_path / "chapters"
    chapters.mkdir()
    output = new_output("stream", name="stdout", text="0.292\n")
    nb = new_notebook(cells=[new_code_cell("print(0.292)", outputs=[output])])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, chapters / "01_a.ipynb")
    assert prime(chapters, tmp_path / "cache") == ["01_a.ipynb"]
    cache = get_cache(str(tmp_path / "cache"))
    record = cache.match_cache_notebook(nbformat.read(chapters / "01_a.ipynb", as_version=4))
    _, merged = cache.merge_match_into_notebook(nb)
    assert record is not None
    assert merged.cells[0].outputs[0]["text"] == "0.292\n"
    # An edited cell no longer matches: the build would execute it.
    nb.cells[0].source = "print(0.3)"
    with pytest.raises(KeyError):
        cache.match_cache_notebook(nb)


def test_prime_rejects_a_missing_or_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="must be an existing directory"):
        prime(tmp_path / "nope", tmp_path / "cache")
    with pytest.raises(ValueError, match="no notebooks in"):
        prime(tmp_path, tmp_path / "cache")


def test_the_book_has_chapters_to_prime():
    assert list((pathlib.Path(__file__).parents[1] / "chapters").glob("*.ipynb"))
