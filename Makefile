.PHONY: lint test bench app format

lint:
	./run.sh lint

test:
	./run.sh test

bench:
	./run.sh bench

app:
	./run.sh

format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
