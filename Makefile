# The two commands a new engineer needs: `make run` and `make test`. See README.md.
.PHONY: run test es lint bench clean-demo

run:
	scripts/run.sh

test:
	scripts/test.sh $(ARGS)

es:
	scripts/es-node.sh run --port $${ES_PORT:-9200}

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports --no-cache

bench:
	for b in bench/*.py; do .venv/bin/python $$b || exit 1; done
