# The course's commands. `make lab` opens the course (your own copies of the lessons, in
# my-lessons/), `make test` runs every check.
# Both create the virtual environment .venv on first use.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
JOBS   ?= 2
REF_PY ?= $(PY)
# The tests run JOBS workers side by side; one BLAS thread each keeps them from
# fighting over the cores (small matrix products are slower with more threads anyway).
ONE_THREAD := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: lab test test-fast lint bench fixtures book clean help
.PHONY: fresh solutions instructor
.PHONY: release autograde feedback export grade

help:
	@echo "make lab        set up (first time) and open your copies of the lessons (my-lessons/) in JupyterLab"
	@echo "make fresh LESSON=03-gradient-descent      a new copy of one lesson (the old one kept in my-lessons/backups/)"
	@echo "make solutions LESSON=03-gradient-descent  print one lesson's solutions"
	@echo "make instructor the lesson sources (lessons/, with solutions) and nbgrader's instructor tools in JupyterLab"
	@echo "make test       set up (first time) and run every check: ruff, unit tests, notebooks"
	@echo "make test-fast  the library's unit tests only"
	@echo "make book       build the website strictly into book/_build/html"
	@echo "make bench      the speed benchmarks (prints ratios)"
	@echo "make fixtures   regenerate the PyTorch/optax reference fixtures (needs torch)"
	@echo "make release    student copies of every lesson (nbgrader) in grading/release/"
	@echo "make autograde  grade grading/submitted/<student>/<lesson>/ into grading/gradebook.db"
	@echo "                (each submission sandboxed with bubblewrap; GRADE_JOBS=N grades N at a time)"
	@echo "make feedback   HTML feedback (no hidden tests) in grading/feedback/"
	@echo "make export     write grading/grades.csv   (make grade = autograde + export)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

# The learner's JupyterLab (tools/learner.py): the missing exercise copies are made in
# my-lessons/ (git-ignored, never overwritten), then JupyterLab opens there with its own
# config (my-lessons/.jupyter: no instructor tools). LAB_ARGS go to JupyterLab, e.g.
# LAB_ARGS="--no-browser --port=8890". LESSON is a folder of lessons/.
LESSON   ?=
LAB_ARGS ?=

lab: $(STAMP)
	$(PY) tools/learner.py lab $(LAB_ARGS)

fresh: $(STAMP)
	$(PY) tools/learner.py fresh "$(LESSON)"

solutions: $(STAMP)
	@$(PY) tools/learner.py solutions "$(LESSON)"

# The sources with the solutions and hidden tests, and nbgrader's create-assignment and
# formgrader tools (run from the course root, where nbgrader_config.py is).
instructor: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=. --LabApp.default_url=/lab/tree/lessons $(LAB_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .

# The website's browser test (tests/test_book.py) checks accessibility with axe-core from
# npm, pinned in book/package.json and book/package-lock.json (never loaded by the website).
AXE := book/node_modules/axe-core/axe.min.js

$(AXE): book/package.json book/package-lock.json
	npm ci --prefix book --no-audit --no-fund --ignore-scripts
	@touch $(AXE)

test: $(STAMP) $(AXE)
	$(PY) -m ruff check .
	$(ONE_THREAD) $(PY) -m pytest -n $(JOBS) --dist loadfile tests

test-fast: $(STAMP)
	$(ONE_THREAD) $(PY) -m pytest -n $(JOBS) --dist loadfile tests

book: $(STAMP)
	$(PY) tools/build_book.py

bench: $(STAMP)
	$(PY) benchmarks/optimizer_step.py
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/allreduce.py

fixtures:  # REF_PY: a Python with torch==2.13.0, jax and optax (not the course's .venv)
	$(REF_PY) tools/make_reference_fixtures.py

# Grading with nbgrader (docs/instructor-guide.md). LESSONS="01-calculus ..." limits
# release/autograde to some lessons; GRADE_ARGS=--force grades graded submissions again;
# GRADE_JOBS=N grades N submissions at a time (default JOBS).
LESSONS    ?=
GRADE_ARGS ?=
GRADE_JOBS ?= $(JOBS)

release: $(STAMP)
	$(PY) tools/grading.py release $(LESSONS)

autograde: $(STAMP)
	$(PY) tools/grading.py autograde $(LESSONS) -j $(GRADE_JOBS) $(GRADE_ARGS)

feedback: $(STAMP)
	$(PY) tools/grading.py feedback $(LESSONS)

export: $(STAMP)
	$(PY) tools/grading.py export

grade: autograde export

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
