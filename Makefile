# vidcolor: `make demo` colourises the bundled samples into out/; `make test` runs the test suite.
# Both create the virtual environment .venv/ first (torch pinned by constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test gui bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -c constraints.txt -e '.[gui,test,cluster]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vidcolor photo assets/samples -o out/samples --overwrite
	$(BIN)/vidcolor video assets/samples/chaplin_silent_film.mp4 -o out/samples/chaplin_silent_film_colour.mp4 --overwrite
	@echo "colourised samples are in out/samples/"

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

gui: $(STAMP)
	$(BIN)/vidcolor-gui $(FILE)

bench: $(STAMP)
	$(BIN)/python scripts/bench_photo.py
	$(BIN)/python scripts/bench_video.py

clean:
	rm -rf out build *.egg-info
