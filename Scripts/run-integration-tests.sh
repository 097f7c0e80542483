#!/usr/bin/env bash
# The `openai` Python client against `llama serve` (Tests/Integration/test_openai_client.py):
# the test starts the server itself on the default model, with an API key, and stops it
# with SIGTERM. Uses the release build of the tool (`make test` has just built it; else
# `make build-release`) and a virtual environment of its own, .venv-integration, with
# pinned versions of the client and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
LLAMA="${LLAMA:-.build/release/llama}"
if [ ! -x "$LLAMA" ]; then
    echo "run-integration-tests: $LLAMA is missing; build it first (make build-release)" >&2
    exit 1
fi
MODEL="$(Scripts/fetch-default-model.sh)"
VENV=.venv-integration
if [ ! -x "$VENV/bin/pytest" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "openai==3.63.0" "pytest==9.2.0"
fi
export LLAMA_TEST_MODEL="$MODEL"
export LLAMA_SERVE_COMMAND="$LLAMA serve -m \$LLAMA_TEST_MODEL --port {port} --parallel 2 --api-key test-key"
exec "$VENV/bin/python" -m pytest -q -p no:cacheprovider Tests/Integration/test_openai_client.py
