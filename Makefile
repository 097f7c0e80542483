# The two commands of the README:
#   make run PROMPT="What is the capital of France?"   answer a chat message (sets everything up first)
#   make test                                           run every test (sets everything up first)

PROMPT ?= What is the capital of France?
TOKENS ?= 128

.PHONY: run test system-packages model gemma-model vocabularies build-release

system-packages:
	@Scripts/install-system-packages.sh

# Downloads the default model (SmolLM2-135M-Instruct, a chat model) into the cache folder once.
model:
	@Scripts/fetch-default-model.sh >/dev/null

# Downloads Gemma 3 270M (base), which the Gemma 3 tests run, into the cache folder once.
gemma-model:
	@Scripts/fetch-default-model.sh --model gemma3 >/dev/null

# Downloads llama.cpp's vocabulary-only GGUF files (byte-level BPE test vectors) once.
vocabularies:
	@Scripts/fetch-llama-cpp-vocabularies.sh >/dev/null

build-release: system-packages
	swift build -c release --product llama

# The prompt is a user message, wrapped in the model's chat template; greedy decoding.
run: build-release model
	.build/release/llama generate --chat --temperature 0 -n $(TOKENS) "$(PROMPT)"

# Tests run optimised (-c release): the reference loops and the C kernels are tens of
# times faster than in a debug build, which more than pays for the longer compile.
test: system-packages model gemma-model vocabularies
	swift test -c release -Xswiftc -enable-testing
	Scripts/run-integration-tests.sh

# The `openai` Python client against `llama serve` alone (make test runs it too).
.PHONY: integration-test
integration-test: build-release model
	Scripts/run-integration-tests.sh

# ThreadSanitizer: several generations and two chat sessions on one shared model at once
# (Tests/LLMTests/ConcurrentGenerationTests.swift, the tiny llama-mha fixture), in a
# scratch folder of its own. --sanitize=thread instruments the C kernels and the thread
# pool as well as the Swift code (and leaves the test executable's malloc counter out,
# Tests/AllocationCounter). The first ThreadSanitizer report ends the run with a failure
# (halt_on_error). No suppressions are needed.
.PHONY: tsan
tsan: system-packages
	swift build --build-tests --scratch-path .build-tsan --sanitize=thread
	TSAN_OPTIONS="halt_on_error=1 $(TSAN_OPTIONS)" swift test --skip-build --scratch-path .build-tsan --sanitize=thread \
		--filter ConcurrentGenerationTests

# Fuzzing (Fuzz/, Documentation/Reliability.md): libFuzzer targets for every reader of
# untrusted files, built with AddressSanitizer in a package and scratch folder of their
# own. `make fuzz` runs each target for FUZZ_SECONDS; `make fuzz-smoke` is CI's short pass.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_TARGETS ?=

.PHONY: fuzz-build fuzz fuzz-smoke

fuzz-build: system-packages
	swift build --package-path Fuzz --scratch-path Fuzz/.build-fuzz -c release \
		-Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing

fuzz: fuzz-build
	Fuzz/Scripts/run-fuzzers.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: fuzz-build
	Fuzz/Scripts/run-fuzzers.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

# DocC: one catalog per library product (Sources/<Target>/<Target>.docc), built with
# swift-docc-plugin into .build/docs/<Target> for static hosting (not committed). DocC's
# warnings (broken symbol links, unknown topics) are printed as it goes.
DOC_TARGETS ?= TensorCore BLASBackend ModelFormats Tokenizers LLM WeightConverter Jinja LLMServer

.PHONY: docs
docs: system-packages
	@mkdir -p .build/docs
	@set -e; for target in $(DOC_TARGETS); do \
		echo "== $$target"; \
		swift package --allow-writing-to-directory .build/docs generate-documentation \
			--target $$target --output-path .build/docs/$$target \
			--transform-for-static-hosting --hosting-base-path $$target; \
	done
	@echo "Documentation in .build/docs/<target>/ (open with any static file server)."
