# The course's commands. `make book` and `make test` are all a newcomer needs.
PYTHON   ?= python3
# Extra pip options for installing torch, e.g. the CPU-only wheels on Linux:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
VENV     ?= .venv
BIN      := $(VENV)/bin
STAMP    := $(VENV)/.installed
BOOK     := $(BIN)/jupyter-book build . --config book.yml --toc toc.yml

.PHONY: setup book test lab student clean

## setup: create .venv (if missing) and install the course with the tested versions
setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install --quiet -c constraints.txt torch --index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	touch $(STAMP)

## book: execute every chapter (quick profile on a CPU, cached) and build the website
book: setup
	$(BOOK)
	@echo "The book is at $(CURDIR)/_build/html/index.html"

## test: unit tests, every chapter under nbval, and a warning-free site build from stored outputs
test: setup
	COURSE_PROFILE=quick COURSE_DEVICE=cpu $(BIN)/python -m pytest tests chapters --nbval-lax

## lab: JupyterLab on the chapters
lab: setup
	$(BIN)/jupyter lab chapters

## student: copies of the chapters with every exercise solution replaced by a stub, in student/
student: setup
	$(BIN)/python -m utils.student chapters student

## clean: remove the built site, caches and student copies (keeps .venv)
clean:
	rm -rf _build student .jupyter_cache .hypothesis *.egg-info
	find . -name __pycache__ -prune -not -path "./$(VENV)/*" -exec rm -rf {} +
