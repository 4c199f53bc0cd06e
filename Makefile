# The course's commands. `make book` and `make test` are all a newcomer needs.
PYTHON   ?= python3
# Extra pip options for installing torch, e.g. the CPU-only wheels on Linux:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
# Slides: plot cells tagged hide-input or slide-hide-input (utils.slides) show their figure only. reveal.js comes from a CDN;
# a local copy with: make slides SLIDES_OPTIONS=--SlidesExporter.reveal_url_prefix=path/to/reveal.js
SLIDES_OPTIONS ?=
SLIDES   := $(BIN)/jupyter nbconvert --to slides --no-prompt --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags=hide-input --TagRemovePreprocessor.remove_input_tags=slide-hide-input
BOOK     := $(BIN)/jupyter-book build . --config book.yml --toc toc.yml

.PHONY: setup book test test-seeds lab student slides clean

## setup: create .venv (if missing) and install the course with the tested versions
setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet -c constraints.txt torch --index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

## book: execute every chapter (quick profile on a CPU, cached), build the website (MathJax served
## from the site itself) and write the student copies; the site links each chapter's notebooks
book: setup student
	$(BOOK)
	@echo "The book is at $(CURDIR)/_build/html/index.html"

## test: unit tests, every chapter under nbval, a warning-free site build from stored outputs,
## every page of it in headless Chromium (screenshots in _build/screenshots), and the slide decks
test: setup
	COURSE_PROFILE=quick COURSE_DEVICE=cpu $(BIN)/python -m pytest tests chapters --nbval-lax

## test-seeds: execute chapters headlessly with other seeds (utils.run_chapters): every assert must hold,
## stored outputs are not compared. One run per chapter and seed, JOBS at once, one thread each;
## report in _build/runs/ (pass/fail, time, failing cells, each assert's worst value over the seeds).
##   make test-seeds SEEDS=0-9 CHAPTERS=chapters/07_*.ipynb                       (a chapter's ten-seed margins)
##   make test-seeds SEEDS=0 RUN_OPTIONS="--profile full --device cuda" JOBS=4   (the full profile on a GPU)
SEEDS    ?= 1
JOBS     ?= 2
CHAPTERS ?= chapters/*.ipynb
RUN_OPTIONS ?=
test-seeds: setup
	$(BIN)/python -m utils.run_chapters $(CHAPTERS) --seeds $(SEEDS) --jobs $(JOBS) $(RUN_OPTIONS)

## lab: JupyterLab on the chapters
lab: setup
	$(BIN)/jupyter lab chapters

## student: copies of the chapters with every exercise solution replaced by a stub, in student/
student: setup
	$(BIN)/python -m utils.student chapters student

## slides: one reveal.js deck per chapter in _build/slides, from copies given slide metadata by utils.slides
slides: setup
	rm -rf _build/slides && mkdir -p _build/slides/notebooks
	cp chapters/*.ipynb _build/slides/notebooks/
	$(BIN)/python -m utils.slides _build/slides/notebooks/*.ipynb
	$(SLIDES) --output-dir _build/slides $(SLIDES_OPTIONS) _build/slides/notebooks/*.ipynb
	@echo "The decks are in $(CURDIR)/_build/slides (reveal.js comes from a CDN: open them online)"

## clean: remove the built site, caches and student copies (keeps .venv)
clean:
	rm -rf _build student .jupyter_cache .hypothesis *.egg-info
	find . -name __pycache__ -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
