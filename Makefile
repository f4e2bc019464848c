# vidcolor: `make demo` colourises the bundled samples into out/; `make test` runs the test suite.
# Both create the virtual environment .venv/ first (torch pinned by constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-avx2 gui bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -c constraints.txt -e '.[gui,test,cluster]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vidcolor photo assets/samples -o out/samples --overwrite
	$(BIN)/vidcolor video assets/samples/chaplin_silent_film.mp4 -o out/samples/chaplin_silent_film_colour.mp4 --overwrite
	@echo "colourised samples are in out/samples/"

# The suite runs twice: as this CPU runs it, then as a CPU without AVX-512 would (oneDNN capped at
# AVX2, which also turns bf16 off; ATen's kernels likewise), so a machine with AVX-512 sees what a
# laptop's would. On a CPU without AVX-512 the two runs are the same.
AVX2 := ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2

test: $(STAMP)
	$(BIN)/ruff check .
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(AVX2) QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

test-avx2: $(STAMP)
	$(AVX2) QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

gui: $(STAMP)
	$(BIN)/vidcolor-gui $(FILE)

bench: $(STAMP)
	$(BIN)/python scripts/bench_photo.py
	$(BIN)/python scripts/bench_video.py

clean:
	rm -rf out build *.egg-info
