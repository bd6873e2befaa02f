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
SYSCONFDIR ?= /etc
DESTDIR   ?=

.PHONY: all build run test unit integration test-asan test-valgrind deps test-deps fuzz soak bench clean install format format-check

all: build

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true --prefix=$(PREFIX) --sysconfdir=$(SYSCONFDIR) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/sockit serve $(ARGS)

# Unit tests (cmocka, via meson) then integration tests (pytest against the built binary).
test: test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --suite unit
	SOCKIT_BIN=$(CURDIR)/$(BUILD)/sockit $(PYTEST) $(PYTEST_ARGS) tests/integration

# Every C file in .clang-format's style: format rewrites them, format-check (CI) only looks.
CLANG_FORMAT ?= clang-format-14
C_FILES = $(sort $(wildcard src/*.[ch] bench/*.c tests/unit/*.[ch] tests/fuzz/*.[ch] tests/shim/*.c))

format: test-deps
	$(CLANG_FORMAT) -i $(C_FILES)

format-check: test-deps
	@$(CLANG_FORMAT) --dry-run -Werror $(C_FILES) && \
		echo "format-check: $(words $(C_FILES)) C files as $(CLANG_FORMAT) writes them"

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan:
	$(MAKE) test BUILD=$(ASAN) \
		MESON_OPTS="-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug"

# The heavy soak (pytest -m soak): 1,000 clients x 1 MiB each, checked by SHA-256.
soak: test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	SOCKIT_BIN=$(CURDIR)/$(BUILD)/sockit $(PYTEST) -q -s -m soak tests/integration

# bench/run: sockit against a bare epoll echo, inetd, socat and chronyd in one run; rewrites
# BENCHMARKS.md. BENCH_ARGS='--seconds 5 --repeat 8' for steadier figures.
BENCH_ARGS ?=
bench: test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	bench/run --build $(BUILD) $(BENCH_ARGS)

# The unit and integration suites under valgrind: any error or definite/indirect leak fails
# (the test's server or client exits 99, or prints "==PID=="). Tests of memory figures and
# fd limits skip themselves; VALGRIND_DESELECT names tests whose timing valgrind's slowness
# breaks (a rate limiter refills between two slow runs).
VALGRIND ?= valgrind -q --error-exitcode=99 --leak-check=full \
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
VALGRIND_TESTS ?= tests/integration
VALGRIND_DESELECT ?= tests/integration/test_time_client.py::test_sntp_kiss_of_death_is_reported
# valgrind holds its one big lock through io_uring_enter's wait, so an io_uring server with
# more than one thread stalls under it: the io_uring rows run in the ASan build (and the
# unit tests of ev_uring.c, single-threaded, still run under valgrind).
VALGRIND_PYTEST_K ?= not uring
test-valgrind: test-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	meson test -C $(BUILD) --print-errorlogs --suite unit --timeout-multiplier 10 \
		--wrapper '$(VALGRIND)'
	SOCKIT_BIN=$(CURDIR)/$(BUILD)/sockit SOCKIT_WRAPPER='$(VALGRIND)' \
		$(PYTEST) $(PYTEST_ARGS) $(addprefix --deselect ,$(VALGRIND_DESELECT)) \
		-k '$(VALGRIND_PYTEST_K)' $(VALGRIND_TESTS)

# libFuzzer harnesses (tests/fuzz/fuzz_NAME.c), each run for FUZZ_SECONDS from its seed corpus
# and dictionary; what it finds goes to fuzz-corpus-run/NAME, crashes to fuzz-corpus-run/NAME-crash-*.
FUZZ_BUILD ?= build-fuzz
FUZZERS   = $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# Past every parser's own limit (IRC lines 8.7 KB, contact books 16 KiB); each harness caps its input.
FUZZ_MAX_LEN ?= 20000

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dtests=false -Db_lundef=false

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	@set -e; for f in $(FUZZERS); do \
		mkdir -p fuzz-corpus-run/$$f; \
		printf 'fuzz %-10s %ss: ' $$f $(FUZZ_SECONDS); \
		if $(FUZZ_BUILD)/tests/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAX_LEN) \
			-dict=tests/fuzz/$$f.dict -artifact_prefix=fuzz-corpus-run/$$f- \
			-print_final_stats=1 fuzz-corpus-run/$$f tests/fuzz/corpus/$$f \
			>fuzz-corpus-run/$$f.log 2>&1; then \
			grep -E '^stat::number_of_executed_units' fuzz-corpus-run/$$f.log | \
				awk '{print $$2 " inputs, no crash"}'; \
		else \
			echo FAILED; tail -40 fuzz-corpus-run/$$f.log; exit 1; \
		fi; \
	done

clean:
	rm -rf $(BUILD) $(ASAN) build-fuzz

# Binary, man pages, translations, systemd units, bash completion and the example
# /etc/sockit/sockit.conf, under PREFIX and staged below DESTDIR if given.
install: build
	meson configure $(BUILD) -Dprefix=$(PREFIX) -Dsysconfdir=$(SYSCONFDIR)
	meson install -C $(BUILD) --quiet $(if $(DESTDIR),--destdir $(abspath $(DESTDIR)))
