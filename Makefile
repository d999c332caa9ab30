# RingFeed build. `make demo` and `make test` are all a newcomer needs; both
# install missing system packages first (make deps).

SHELL := /bin/bash
CC ?= clang
ifeq ($(origin CC),default)
CC := clang
endif
AR ?= ar
PYTHON ?= python3
PREFIX ?= /usr/local
SWIFT ?= swift
SWIFT_BUILD_FLAGS ?=
AUTOBAHN ?= ../shared/tools/autobahn

BUILD := build
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Iinclude -Wall -Wextra -Wshadow -Wstrict-prototypes \
               -Wno-unused-parameter -fno-strict-aliasing -g
CFLAGS ?= -O2
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS)
LIBS := -luring -lssl -lcrypto -lz

LIB_SRCS := $(sort $(wildcard CSources/ringfeed/*.c))
LIB_HDRS := $(wildcard include/ringfeed/*.h) $(wildcard CSources/ringfeed/*.h)
LIB_OBJS := $(LIB_SRCS:CSources/ringfeed/%.c=$(BUILD)/obj/%.o)
LIB := $(BUILD)/libringfeed.a
PC := $(BUILD)/ringfeed.pc

CTEST_SRCS := $(sort $(wildcard Tests/c/test_*.c))
CTESTS := $(CTEST_SRCS:Tests/c/%.c=$(BUILD)/tests/%)

# Sanitizer build of the library and C tests (ASan + UBSan, no recovery).
SAN_FLAGS := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# lld: the toolchain's default (gold) warns about ASan's local symbols.
SAN_LDFLAGS := -fuse-ld=lld
SAN_OBJS := $(LIB_SRCS:CSources/ringfeed/%.c=$(BUILD)/san/obj/%.o)
SAN_TESTS := $(CTEST_SRCS:Tests/c/%.c=$(BUILD)/san/tests/%)

FUZZ_SRCS := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZERS := $(FUZZ_SRCS:fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fuse-ld=lld
# The library is instrumented once (fuzzer-no-link) and every harness links it.
FUZZ_LIB_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_OBJS := $(LIB_SRCS:CSources/ringfeed/%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_SECONDS ?= 60

BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCHES := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
EXAMPLES := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

.PHONY: all deps lib ctest ctest-san symbols examples fuzz fuzz-replay bench clean install demo-smoke swift-release \
        swift-build swift-test interop autobahn autobahn-client autobahn-server demo stream-check book-check test

all: lib

# ---- system packages -------------------------------------------------------

deps:
	@./scripts/deps.sh

# ---- the static library, with no Swift involved -----------------------------

lib: $(LIB) $(PC)

$(BUILD)/obj/%.o: CSources/ringfeed/%.c $(LIB_HDRS) | deps-c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -ICSources/ringfeed -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(PC): Makefile
	@mkdir -p $(@D)
	@printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$${prefix}/lib' 'includedir=$${prefix}/include' '' \
	  'Name: ringfeed' 'Description: RingFeed market-data ingest core (io_uring, RFC 6455)' \
	  'Version: 0.1.0' 'Requires.private: liburing libssl libcrypto zlib' 'Libs: -L$${libdir} -lringfeed' \
	  'Libs.private: -luring -lssl -lcrypto -lz' 'Cflags: -I$${includedir}' > $@

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/ringfeed
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 644 $(PC) $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	install -m 644 include/ringfeed/*.h $(DESTDIR)$(PREFIX)/include/ringfeed/

# Only the C headers of liburing, OpenSSL and zlib are needed to build the library.
.PHONY: deps-c
deps-c:
	@test -f /usr/include/liburing.h -a -f /usr/include/openssl/ssl.h -a -f /usr/include/zlib.h || ./scripts/deps.sh

# ---- C unit tests, plain and under ASan + UBSan ----------------------------

$(BUILD)/tests/%: Tests/c/%.c $(wildcard Tests/c/*.h) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -ICSources/ringfeed $< $(LIB) $(LIBS) -lpthread -o $@

$(BUILD)/san/obj/%.o: CSources/ringfeed/%.c $(LIB_HDRS) | deps-c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) -ICSources/ringfeed -c $< -o $@

$(BUILD)/san/libringfeed.a: $(SAN_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/san/tests/%: Tests/c/%.c $(wildcard Tests/c/*.h) $(BUILD)/san/libringfeed.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(SAN_FLAGS) $(SAN_LDFLAGS) -ICSources/ringfeed $< $(BUILD)/san/libringfeed.a $(LIBS) -lpthread -o $@

ctest: $(CTESTS)
	@set -e; for t in $(CTESTS); do $$t; done

ctest-san: $(SAN_TESTS)
	@set -e; for t in $(SAN_TESTS); do \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

# Every global symbol the library defines starts with rf_.
symbols: $(LIB)
	@bad=$$(nm -g --defined-only $(LIB) | awk 'NF==3 {print $$3}' | grep -v '^rf_' || true); \
	if [ -n "$$bad" ]; then echo "exported symbols without the rf_ prefix:"; echo "$$bad"; exit 1; fi; \
	echo "symbols: every exported symbol starts with rf_ ($$(nm -g --defined-only $(LIB) | awk 'NF==3' | wc -l) symbols)"

# ---- examples: compiled and linked against the installed-style library ----

$(BUILD)/examples/%: examples/%.c $(LIB) $(PC)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wno-unused-parameter $$(PKG_CONFIG_PATH=$(BUILD) pkg-config --define-variable=prefix=$(CURDIR) --cflags ringfeed) \
	  $< -L$(BUILD) -lringfeed $$(PKG_CONFIG_PATH=$(BUILD) pkg-config --static --libs-only-l ringfeed | sed 's/-lringfeed//') -o $@

examples: $(EXAMPLES)
	@set -e; for e in $(EXAMPLES); do $$e; done

# ---- fuzzing ---------------------------------------------------------------

$(BUILD)/fuzz/obj/%.o: CSources/ringfeed/%.c $(LIB_HDRS) | deps-c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(FUZZ_LIB_FLAGS) -ICSources/ringfeed -c $< -o $@

$(BUILD)/fuzz/libringfeed.a: $(FUZZ_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/fuzz/%: fuzz/%.c fuzz/fuzz_common.h Tests/c/decimal_reference.h $(BUILD)/fuzz/libringfeed.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_BASE) $(FUZZ_FLAGS) -ICSources/ringfeed $< $(BUILD)/fuzz/libringfeed.a $(LIBS) -o $@

# make fuzz: each harness runs FUZZ_SECONDS, growing its corpus in fuzz/corpus/NAME,
# which is then minimised (edge coverage) so the committed corpus stays small.
fuzz: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do n=$$(basename $$f); n=$${n#fuzz_}; \
	  mkdir -p fuzz/corpus/$$n; echo "== fuzzing $$n for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 fuzz/corpus/$$n 2>&1 | \
	    grep -E 'stat::(number_of_executed_units|average_exec_per_sec|new_units_added)|ERROR|SUMMARY'; \
	  rm -rf $(BUILD)/fuzz/min-$$n; mkdir -p $(BUILD)/fuzz/min-$$n; \
	  $$f -merge=1 -use_counters=0 $(BUILD)/fuzz/min-$$n fuzz/corpus/$$n >/dev/null 2>&1; \
	  rm -rf fuzz/corpus/$$n; mv $(BUILD)/fuzz/min-$$n fuzz/corpus/$$n; \
	  echo "   corpus: $$(ls fuzz/corpus/$$n | wc -l) files after minimising"; done

# make fuzz-replay (part of make test): run every saved input once.
fuzz-replay: $(FUZZERS)
	@set -e; for f in $(FUZZERS); do n=$$(basename $$f); n=$${n#fuzz_}; \
	  test -d fuzz/corpus/$$n || { echo "no corpus for $$n"; exit 1; }; \
	  $$f -runs=0 fuzz/corpus/$$n 2>&1 | grep -E 'INFO: seed corpus|Done|ERROR' | tail -2; done

# ---- benchmarks ------------------------------------------------------------

# The ingest benchmarks count the receiving thread's allocations by wrapping malloc.
$(BUILD)/bench/bench_ingest $(BUILD)/bench/bench_tls_ingest $(BUILD)/bench/bench_e2e: BENCH_LDFLAGS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc
$(BUILD)/bench/bench_e2e: bench/depth_tape.h

$(BUILD)/bench/%: bench/%.c bench/bench.h bench/tape.h bench/alloc_count.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -O3 -ICSources/ringfeed $< $(LIB) $(LIBS) -lpthread $(BENCH_LDFLAGS) -o $@

bench: $(BENCHES)
	@set -e; for b in $(BENCHES); do $$b; done

# Issue 5 end to end through the Swift shell: `ringfeed bench` (MarketFeed
# keeping the four books) against `ringfeed simulate --tape` in a child
# process; e.g. BENCH_SWIFT_ARGS='--consumer stream --runs 3'.
BENCH_SWIFT_ARGS ?=
.PHONY: bench-swift
bench-swift: swift-release
	$(RINGFEED) bench $(BENCH_SWIFT_ARGS)

# Issue 6: a ResilientFeed's reconnect on loopback, failure detected to the
# first message of the new connection, over ws://, wss:// with full
# handshakes and wss:// resumed, against `ringfeed simulate --tape` children;
# e.g. BENCH_RECONNECT_ARGS='--runs 5 --reconnects 500'.
BENCH_RECONNECT_ARGS ?=
.PHONY: bench-reconnect
bench-reconnect: swift-release
	$(RINGFEED) bench-reconnect $(BENCH_RECONNECT_ARGS)

# Kernel TLS offload, proven in a VM running Debian's stock kernel (this
# machine's may lack CONFIG_TLS). Downloads packages, so not part of make test.
.PHONY: ktls-vm
ktls-vm: $(BUILD)/tests/test_ktls $(BUILD)/san/tests/test_ktls $(BUILD)/ktls-vm/https_get
	./scripts/ktls-vm/run.sh $(BUILD)/tests/test_ktls $(BUILD)/san/tests/test_ktls $(BUILD)/ktls-vm/https_get

$(BUILD)/ktls-vm/https_get: scripts/ktls-vm/https_get.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< $(LIB) $(LIBS) -o $@

clean:
	rm -rf $(BUILD) .build

# ---- Swift package, CLI, and the tests that need them ------------------------

RINGFEED := .build/release/ringfeed
AUTOBAHN_CASES := 1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*

swift-release: deps
	$(SWIFT) build -c release --product ringfeed $(SWIFT_BUILD_FLAGS)

# The main job: stream from the built-in loopback server until Ctrl-C.
demo: swift-release
	$(RINGFEED) demo

# One test at a time: many tests time what the network layer does (idle
# timeouts, backoff bounds, pacing windows, rotations), and run side by side
# with a blasting simulator on two cores they missed their bounds (all 164
# pass serially in about 200 s here).
swift-test: deps
	$(SWIFT) test --no-parallel $(SWIFT_BUILD_FLAGS)

# Interop with a real third-party peer (Python websockets), both directions
# (also part of swift-test).
interop: deps
	$(SWIFT) test --filter InteropTests $(SWIFT_BUILD_FLAGS)

# Autobahn|Testsuite 1.*-10.*, both roles (about 20 s each).
autobahn: autobahn-client autobahn-server

autobahn-client: swift-release
	@test -x $(AUTOBAHN)/fuzzingserver.sh || { echo "autobahn suite not found at $(AUTOBAHN)"; exit 1; }
	$(AUTOBAHN)/fuzzingserver.sh --cases '$(AUTOBAHN_CASES)' --agent RingFeed \
	  --outdir $(CURDIR)/$(BUILD)/autobahn/client --timeout 600 -- $(CURDIR)/$(RINGFEED) autobahn

autobahn-server: swift-release
	@test -x $(AUTOBAHN)/fuzzingclient.sh || { echo "autobahn suite not found at $(AUTOBAHN)"; exit 1; }
	AUTOBAHN=$(AUTOBAHN) CASES='$(AUTOBAHN_CASES)' ./scripts/autobahn-server.sh $(CURDIR)/$(RINGFEED) \
	  $(CURDIR)/$(BUILD)/autobahn/server

# ringfeed stream against the simulator: every printed event checked field by
# field (Python's json) against the message it came from; spot, µs, futures.
stream-check: swift-release
	./scripts/stream-check.sh $(CURDIR)/$(RINGFEED) $(CURDIR)/$(BUILD)/stream-check

# ringfeed book against the simulator: final books (JSON) checked against a
# Python reference from snapshots + diffs; spot, futures, 120 symbols, replay.
book-check: swift-release
	./scripts/book-check.sh $(CURDIR)/$(RINGFEED) $(CURDIR)/$(BUILD)/book-check

# A short, non-interactive run of the demo: it must move messages.
demo-smoke: swift-release
	$(RINGFEED) demo --duration 1 --quiet
	@# Connections cut by the simulator: the demo comes back and says so.
	$(RINGFEED) demo --duration 3 --quiet --fault drop:100 2> $(BUILD)/demo-fault.txt
	@tail -1 $(BUILD)/demo-fault.txt; grep -Eq "[1-9][0-9]* connections? lost" $(BUILD)/demo-fault.txt

test: deps lib symbols ctest ctest-san examples fuzz-replay swift-test autobahn stream-check book-check demo-smoke
	@echo "make test: all passed"
