# The two commands of the README:
#   make run PROMPT="The capital of France is"   generate text (sets everything up first)
#   make test                                     run every test (sets everything up first)

PROMPT ?= The capital of France is

.PHONY: run test system-packages build-release

system-packages:
	@Scripts/install-system-packages.sh

build-release: system-packages
	swift build -c release

run: build-release
	.build/release/backend-demo

test: system-packages
	swift test
