"""Store the chapters' verified outputs in Jupyter Book's execution cache, so the build reuses them.

``make test`` first runs nbval, which re-executes every chapter under each OpenBLAS kernel and
fails unless every stored output equals the fresh run. Once that has passed, executing the
chapters a fourth time for the strict build would only repeat that work, so ``make test`` puts the
stored notebooks into the cache the build reads (``_build/.jupyter_cache``, keyed by the code
cells' hash), and the build renders them without re-executing. ``make book`` does not do this: it
executes every chapter that changed since the last build.

Usage: ``python tests/prime_build_cache.py [chapters_folder] [cache_folder]``.
"""

from __future__ import annotations

import pathlib
import sys

from jupyter_cache import get_cache


def prime(chapters: pathlib.Path, cache_path: pathlib.Path) -> list[str]:
    if not chapters.is_dir():
        raise ValueError(f"chapters must be an existing directory, got {str(chapters)!r}")
    notebooks = sorted(chapters.glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"no notebooks in {str(chapters)!r}")
    cache = get_cache(str(cache_path))
    for path in notebooks:
        # The outputs were checked by nbval, not here; overwrite any stale record of the same code.
        cache.cache_notebook_file(str(path), check_validity=False, overwrite=True)
    return [path.name for path in notebooks]


if __name__ == "__main__":
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "chapters")
    cache_folder = pathlib.Path(sys.argv[2] if len(sys.argv) > 2 else "_build/.jupyter_cache")
    names = prime(folder, cache_folder)
    print(f"cached the verified outputs of {len(names)} chapters in {cache_folder}")
