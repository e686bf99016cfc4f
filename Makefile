# Quick start:  make demo   (set up, then hear Haven on the bundled recordings)
#               make test   (set up, then run the tests)
.PHONY: demo test setup bench clean

demo:
	@scripts/setup.sh
	.venv/bin/haven demo

test:
	@scripts/setup.sh --test
	.venv/bin/python -m pytest

setup:
	@scripts/setup.sh --test

clean:
	rm -rf .venv .pulse build *.egg-info
