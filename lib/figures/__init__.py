"""Figure code that only one chapter uses, one module per chapter, kept apart from the concepts.

The concept modules of :mod:`lib` (``confounding``, ``planner``, ...) model ideas that any chapter
may use and hold no chapter's wording. A figure that one chapter draws, with that chapter's labels
and annotations, lives here instead, in a module named for the chapter, as the FilterPy library
keeps its book's plotting code apart from the filters. Each function draws on an ``ax`` and returns
it.
"""
