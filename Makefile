# sockit's front door. Two commands matter: `make run` and `make test`.
# meson + ninja do the building; this file only installs dependencies and names the steps.

BUILD     ?= build
ASAN      ?= build-asan
MESON_OPTS ?=
PYTEST    ?= /usr/bin/python3 -m pytest
# Debian's interpreter: the python3 first on PATH may not see Debian's python3-* packages.
PYTEST_ARGS ?= -q -n 2
ARGS      ?=
FUZZ_SECONDS ?= 60
PREFIX    ?= /usr/local

.PHONY: all build run test unit integration test-asan deps test-deps fuzz soak bench clean install

all: build

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/sockit serve $(ARGS)

# Unit tests (cmocka, via meson) then integration tests (pytest against the built binary).
test: test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --suite unit
	SOCKIT_BIN=$(CURDIR)/$(BUILD)/sockit $(PYTEST) $(PYTEST_ARGS) tests/integration

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	$(MAKE) test BUILD=$(ASAN) \
		MESON_OPTS="-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug"

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz
