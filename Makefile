# Two commands do all the set-up on a fresh machine with Python 3.11+ and make:
#   make book   build the book (executing every chapter) into _build/html, with a zip of its
#               source in it (how-models-generalize-source.zip, from _ext/source_archive.py)
#   make test   run every test: library unit tests and doctests, nbval over chapters/, a strict build
#               of the book and the student edition, every built page in headless Chromium (links,
#               assets, search, accessibility), and the other commands below (make test-make)
# Also: make lab (JupyterLab on the chapters), make outputs (refresh the outputs stored in the
# notebooks), make clean.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
BUILD  := _build
JB_FLAGS := -W -n --keep-going
# Debian's packages that make pdf needs (.ci/run installs them where xelatex is missing).
TEX_PACKAGES := texlive-xetex texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended latexmk fonts-freefont-otf tex-gyre texlive-plain-generic

.PHONY: book student pdf test test-pdf test-pdf-after-build print-tex-packages test-lint test-lib test-notebooks test-build test-browser test-browser-book test-browser-student test-jupyterlab test-make lab outputs format clean help

help:
	@echo "make book   - build the HTML book into $(BUILD)/html (creates $(VENV) on first use)"
	@echo "make test   - run every test: unit tests, doctests, nbval over chapters/, strict build, browser"
	@echo "make test-browser - load every built page in headless Chromium; screenshots in $(BUILD)/screenshots"
	@echo "make student - the student edition: notebooks without solutions, and a book built from them"
	@echo "make pdf    - the printable book, $(BUILD)/latex/book.pdf, and the student edition's (needs TeX Live: see the README)"
	@echo "make lab    - open the chapters in JupyterLab with the book's environment"
	@echo "make outputs - re-execute chapters/ and store their outputs (after editing a chapter)"
	@echo "make timings - time each chapter on a fresh kernel against the floor: reference/timings.csv"
	@echo "make format - apply ruff's formatter and safe lint fixes (make test checks both)"
	@echo "make clean  - remove $(BUILD) (the environment in $(VENV) is kept)"

# The environment: rebuilt only when the requirements change.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "The book is built: open file://$(CURDIR)/$(BUILD)/html/index.html"

# make test's strict build renders the stored outputs, which nbval checks against a fresh run under
# each kernel, instead of executing every chapter a fourth time (tests/prime_build_cache.py puts
# them in the build's execution cache before the build starts).
# The student edition: each chapter with its solutions removed (nothing else changed), written to
# $(BUILD)/student/notebooks, and a book built from them with solutions hidden, rendering the
# outputs that make test verifies (scripts/student_edition.py says why that is enough).
student: $(STAMP)
	$(BIN)/python scripts/student_edition.py
	$(BIN)/jupyter-book build $(BUILD)/student/src --path-output $(BUILD)/student $(JB_FLAGS)
	@echo "Student notebooks: $(CURDIR)/$(BUILD)/student/notebooks"
	@echo "Student book: file://$(CURDIR)/$(BUILD)/student/_build/html/index.html"

# The printable book and the student edition's (no solutions, no instructor's guide) through
# XeLaTeX, from Debian's TeX Live packages (README, "A printable book"). Both render the chapters'
# stored outputs (the ones make test verifies against a fresh run).
pdf: $(STAMP)
	@command -v xelatex >/dev/null && command -v latexmk >/dev/null || { echo "make pdf needs xelatex and latexmk: apt-get install $(TEX_PACKAGES)" >&2; exit 1; }
	$(BIN)/python tests/prime_build_cache.py chapters $(BUILD)/.jupyter_cache
	$(BIN)/jupyter-book build . --builder pdflatex $(JB_FLAGS)
	$(BIN)/python scripts/student_edition.py
	$(BIN)/jupyter-book build $(BUILD)/student/src --path-output $(BUILD)/student --builder pdflatex $(JB_FLAGS)
	@echo "The PDFs are built: $(CURDIR)/$(BUILD)/latex/book.pdf and the student edition's, $(CURDIR)/$(BUILD)/student/_build/latex/book.pdf"

# make test runs its stages side by side (make -j5) on the machine's cores: nbval once under each
# BLAS kernel (three stages, one per kernel), beside the chain build -> browser tests -> PDF and the
# library tests. The chain is the longest path and much of it waits (on Chromium, on XeLaTeX), so
# it runs at normal priority while nbval runs under `nice`: nbval takes whatever the chain leaves,
# and the cores stay busy until the end. Each stage's output is printed in one piece when it ends
# (--output-sync), so the log reads stage by stage; a stage that fails stops make test (the stages
# running beside it finish first) with make's "Error" line naming it. The build renders the stored
# outputs (put in its cache first, see above): make test passes only if nbval shows that they
# equal a fresh run. (TEST_JOBS=1 runs the stages one at a time, in this order.)
TEST_STAGES := test-pdf-after-build test-browser-book
TEST_STAGES_AFTER := test-jupyterlab test-lib test-lint test-make
TEST_JOBS ?= 5
test: $(STAMP)
	$(BIN)/python tests/prime_build_cache.py chapters $(BUILD)/.jupyter_cache
	@kernels="$$($(BIN)/python tests/blas_kernels.py)"; echo "nbval under OpenBLAS kernels: $$kernels"; \
	$(MAKE) --no-print-directory -j$(TEST_JOBS) --output-sync=target NBVAL_NICE="nice -n 10" NBVAL_WORKERS= \
	  $(TEST_STAGES) $$(for kernel in $$kernels; do echo test-notebooks-$$kernel; done) \
	  $(TEST_STAGES_AFTER)

# The PDF, built and checked where XeLaTeX is installed (.ci/run installs it and sets PDF_REQUIRED=1);
# elsewhere skipped with a message.
test-pdf: $(STAMP)
	@if command -v xelatex >/dev/null && command -v latexmk >/dev/null; then \
	  $(MAKE) --no-print-directory pdf && $(BIN)/python -m pytest -m pdf tests/pdf; \
	elif [ "$$PDF_REQUIRED" = 1 ]; then \
	  echo "PDF_REQUIRED=1, but xelatex or latexmk is missing: apt-get install $(TEX_PACKAGES)" >&2; exit 1; \
	else \
	  echo "SKIPPED test-pdf: xelatex and latexmk are not installed (apt-get install $(TEX_PACKAGES))"; \
	fi

# In make test, the PDFs are built after the HTML books and the student edition's browser test,
# never beside them: Jupyter Book's HTML and LaTeX builds share Sphinx's environment (in
# $(BUILD)/.doctrees, and the student edition's in $(BUILD)/student/_build/.doctrees), and make pdf
# writes the student edition's sources afresh, which the student build and its test read.
test-pdf-after-build: test-build test-browser-student
	@$(MAKE) --no-print-directory test-pdf

# ruff: lint and format check of the library, the tests, the Sphinx extensions and the notebooks
# (settings in pyproject.toml; chapters/ruff.toml keeps the chapters' code to the page's width).
# `make format` applies the formatter and the safe fixes.
LINTED := lib tests _ext scripts chapters
test-lint: $(STAMP)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(STAMP)
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

# Two workers: the library's tests are independent, and make test has a time budget (8 minutes).
test-lib: $(STAMP)
	$(BIN)/python -m pytest -n 2

# nbval re-executes each notebook in chapters/ and compares every text output with the stored one,
# once under each OpenBLAS kernel this CPU can run (tests/blas_kernels.py): kernels sum in different
# orders, so this is what shows that the stored outputs hold on other machines, not only this one.
# `make test-notebooks` runs the kernels one after another, two notebooks at a time; make test runs
# each kernel as its own stage, test-notebooks-KERNEL (default: the kernel OpenBLAS picks), one
# notebook at a time, since the three stages already fill the cores. Always with one BLAS thread
# per kernel: more would only wait on each other beside the other workers. (The stored outputs are written with the machine's threads, by make outputs,
# so nbval also shows that they do not depend on the number of threads.)
NBVAL := -m pytest $(NBVAL_WORKERS) --nbval chapters/ --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider
test-notebooks: $(STAMP)
	@kernels="$$($(BIN)/python tests/blas_kernels.py)"; echo "nbval under OpenBLAS kernels: $$kernels"; \
	for kernel in $$kernels; do $(MAKE) --no-print-directory test-notebooks-$$kernel || exit 1; done

NBVAL_NICE ?=
NBVAL_WORKERS ?= -n 2 --dist loadfile
test-notebooks-%: $(STAMP)
	@echo "== nbval, OPENBLAS_CORETYPE=$*"
	@if [ "$*" = default ]; then OPENBLAS_NUM_THREADS=1 $(NBVAL_NICE) $(BIN)/python $(NBVAL); \
	else OPENBLAS_CORETYPE=$* OPENBLAS_NUM_THREADS=1 $(NBVAL_NICE) $(BIN)/python $(NBVAL); fi

# The book with warnings as errors; a notebook that raises fails it. It is `make book` itself.
test-build: book

# Every page of the built book in headless Chromium (Debian's chromium; skipped with a message where
# it is not installed): JavaScript errors, assets, images and figures, internal links, search, and an
# axe-core accessibility audit. A screenshot of each page is left in $(BUILD)/screenshots.
# The student edition's pages too (tests/browser/test_student_edition_in_browser.py).
# Three pytest sessions, so that make test can run them beside other stages: the student book's
# pages, the chapters in JupyterLab (which needs no build), and everything else in tests/browser.
test-browser: test-browser-book test-browser-student test-jupyterlab

BROWSER_ELSEWHERE := tests/browser/test_student_edition_in_browser.py tests/browser/test_jupyterlab.py
test-browser-book: test-build
	$(BIN)/python -m pytest -m browser tests/browser $(BROWSER_ELSEWHERE:%=--ignore=%)

test-browser-student: student
	$(BIN)/python -m pytest -m browser tests/browser/test_student_edition_in_browser.py

test-jupyterlab: $(STAMP)
	$(BIN)/python -m pytest -m browser tests/browser/test_jupyterlab.py

lab: $(STAMP)
	$(BIN)/jupyter lab chapters/

# `make outputs NOTEBOOKS=chapters/01_erm_under_confounding.ipynb` refreshes only the ones named.
NOTEBOOKS ?= chapters/*.ipynb
outputs: $(STAMP)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace $(NOTEBOOKS)

# The other commands the README names, each run as a reader would (tests/test_make_targets.py):
# make lab on a free loopback port, make outputs on a copy of chapter 00, make format and make
# clean on copies of the project.
test-make: $(STAMP)
	$(BIN)/python -m pytest -m make_targets tests/test_make_targets.py

print-tex-packages:
	@echo $(TEX_PACKAGES)

# Each chapter executed top to bottom on a fresh kernel, timed (wall and CPU) against the floor (a
# kernel that imports the book's libraries and draws one figure), into reference/timings.csv, which
# the reproducibility page renders. Run it on a quiet machine; it takes about as long as the book.
# `make timings NOTEBOOKS=chapters/00_how_to_read_and_run.ipynb` times only the ones named.
NOTEBOOKS ?= chapters/*.ipynb
.PHONY: timings
timings: $(STAMP)
	$(BIN)/python scripts/timings.py $(NOTEBOOKS)

clean:
	rm -rf $(BUILD)
