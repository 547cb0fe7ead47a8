# perfsample — build, test, demo, bench.
#
#   make          build ./perfsample (installs missing -dev packages first, as root)
#   make test     unit tests (Criterion) + end-to-end tests of the binary
#   make test-scrape  the agent under Parca's scrape shape (14 s profiles every 15 s)
#   make demo     profile examples/ and write demo.svg
#   make bench    perfsample side by side with perf and FlameGraph (bench/)
#   make fuzz     bounded libFuzzer runs of the parsers

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   := build
.DEFAULT_GOAL := all
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer -I.
PKGS    := libelf libdw libzstd zlib
HEAP_LIB := libperfsample-heap.so
HEAP_CC ?= cc
# The agent (cmd/agent*.c): its HTTP server, TLS, and the push client.
PKGS    += libmicrohttpd gnutls libcurl

# build/config.mk holds the pkg-config flags. Make builds it (installing the packages when
# they are missing) before anything else, then restarts with it read.
-include $(BUILD)/config.mk
$(BUILD)/config.mk: scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@scripts/install-deps.sh build
	@{ echo "DEP_CFLAGS := $$(pkg-config --cflags $(PKGS))"; \
	   echo "DEP_LIBS := $$(pkg-config --libs $(PKGS)) -liberty -llzma"; \
	   echo "CRIT_CFLAGS := $$(pkg-config --cflags criterion 2>/dev/null)"; \
	   echo "CRIT_LIBS := $$(pkg-config --libs criterion 2>/dev/null)"; } > $@.tmp
	@mv $@.tmp $@

LIB_SRCS := $(sort $(wildcard formats/*.c profiler/*.c symbolize/*.c render/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_SRCS := $(sort $(wildcard cmd/*.c))
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
EXAMPLES := $(patsubst %.c,%,$(wildcard examples/*.c)) $(patsubst %.cc,%,$(wildcard examples/*.cc))

all: perfsample examples $(HEAP_LIB)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEP_CFLAGS) $(CRIT_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libperfsample.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# The commands (cmd/) go into the binary only: the unit tests link the library.
perfsample: $(BUILD)/perfsample.o $(CMD_OBJS) $(BUILD)/libperfsample.a
	$(CC) $(CFLAGS) -o $@ $^ $(DEP_LIBS) -lm

# The heap profiler's preload library (record --heap), next to the binary: its own flags
# (position-independent, only the allocator's names exported), never sanitizers, since it
# runs inside the profiled program.
$(HEAP_LIB): profiler/heap/ps_heap_preload.c profiler/heap/ps_heap_wire.h
	$(HEAP_CC) -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -fPIC -shared -fvisibility=hidden \
		-fno-omit-frame-pointer -I. $(shell pkg-config --cflags libunwind) -o $@ $< \
		$(shell pkg-config --libs libunwind) -ldl -lm -lpthread

# The option parser is tested too: it is the one part of cmd/ that the unit tests link.
UNIT_CMD_OBJS := $(BUILD)/cmd/options.o $(BUILD)/cmd/util.o $(BUILD)/cmd/agent_http.o
$(BUILD)/unit-tests: $(UNIT_OBJS) $(UNIT_CMD_OBJS) $(BUILD)/libperfsample.a
	$(CC) $(CFLAGS) -o $@ $^ $(CRIT_LIBS) $(DEP_LIBS) -lm

# Workloads with known behaviour. Most keep frame pointers (the -g path); the *_nofp
# ones are built without them for the DWARF unwinder.
examples: $(EXAMPLES)
examples/%: examples/%.c
	$(CC) -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -fno-inline -o $@ $< -lm -lpthread
examples/%_nofp: examples/%_nofp.c
	$(CC) -O1 -g -fomit-frame-pointer -fno-inline -o $@ $< -lm -lpthread
examples/%: examples/%.cc
	$(CXX) -O1 -g -fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -o $@ $<

test-deps:
	@scripts/install-deps.sh test

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests --jobs 2

test: test-deps all $(BUILD)/unit-tests
	$(BUILD)/unit-tests --jobs 2
	tests/e2e/run.sh

# The agent under Parca's and Alloy's own scrape shape: 14 s profiles every 15 s, three in a
# row (make test runs the same test with 4 s every 5 s).
test-scrape: test-deps all
	PS_SCRAPE_SECONDS=14 tests/e2e/run.sh t_agent_scrape

# The man page's option lists, from each command's --help (a test checks they are current).
man: perfsample
	python3 scripts/gen-man-options.py ./perfsample docs/perfsample.1

demo: all
	./perfsample record -F 499 -g -o $(BUILD)/demo.data -- examples/split 2
	./perfsample flamegraph -i $(BUILD)/demo.data --title "perfsample demo: examples/split" > demo.svg
	@echo "wrote demo.svg"

install: perfsample $(HEAP_LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 perfsample $(DESTDIR)$(PREFIX)/bin/perfsample
	install -m 0644 docs/perfsample.1 $(DESTDIR)$(PREFIX)/share/man/man1/perfsample.1
	install -d $(DESTDIR)$(PREFIX)/lib/perfsample
	install -m 0644 $(HEAP_LIB) $(DESTDIR)$(PREFIX)/lib/perfsample/$(HEAP_LIB)
	# The agent's systemd unit, in place but not enabled.
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|@BINDIR@|$(PREFIX)/bin|' contrib/perfsample-agent.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/perfsample-agent.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/perfsample-agent.service

clean:
	rm -rf $(BUILD) perfsample $(HEAP_LIB) $(EXAMPLES) demo.svg

.PHONY: all examples test test-deps unit demo install clean man test-scrape
-include $(LIB_OBJS:.o=.d) $(CMD_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(BUILD)/perfsample.d

# bench/: perfsample side by side with perf and FlameGraph (BENCHMARKS.md). QUICK=1: about a
# minute. FLAMEGRAPH_DIR: FlameGraph's scripts (their rows are skipped when unset).
$(BUILD)/gen_trace: bench/gen_trace.c $(BUILD)/libperfsample.a
	$(CC) $(CFLAGS) $(DEP_CFLAGS) -o $@ $^ $(DEP_LIBS) -lm
$(BUILD)/rusage: bench/rusage.c
	$(CC) $(CFLAGS) -o $@ $<
# bench/swcost: each layer of record --off-cpu alone (bench/offcpu_breakdown.py).
$(BUILD)/swcost: bench/swcost.c
	$(CC) $(CFLAGS) -o $@ $<
bench: all $(BUILD)/gen_trace $(BUILD)/rusage $(BUILD)/swcost
	@bench/deps.sh
	python3 bench/run.py $(if $(QUICK),--quick)
	python3 bench/offcpu.py $(if $(QUICK),--quick)
.PHONY: bench

# fuzz/: libFuzzer targets of the trace reader + symbolizer walk, the folded parser and the
# perf-script reader, built with clang (ASan+UBSan) and run FUZZ_SECONDS each (default 60);
# crashes land in fuzz/out/crashes-NAME/.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_FLAGS := -O1 -g -std=gnu11 -D_GNU_SOURCE -fno-omit-frame-pointer -I. \
	-fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_BINS := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(wildcard fuzz/fuzz_*.c))
$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(DEP_CFLAGS) -c $< -o $@
.SECONDARY: $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(LIB_SRCS:%.c=$(FUZZ_BUILD)/%.o)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(DEP_CFLAGS) -o $@ $^ $(DEP_LIBS) -lm
fuzz: perfsample examples $(HEAP_LIB) $(FUZZ_BINS)
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

# Everything again with ASan+UBSan (any report is fatal) in build-asan/, then the unit
# tests and the e2e tests (tests/e2e/run.sh takes the binary from PS_BIN).
# clang when there is one: its UBSan also checks pointer arithmetic (e.g. NULL + 0).
ASAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all
ASAN_CC ?= $(if $(shell command -v clang),clang,$(CC))
check-asan: test-deps examples $(HEAP_LIB)
	$(MAKE) BUILD=build-asan CC="$(ASAN_CC) $(ASAN_FLAGS)" build-asan/libperfsample.a \
		build-asan/unit-tests build-asan/perfsample.o $(CMD_SRCS:%.c=build-asan/%.o)
	$(ASAN_CC) $(ASAN_FLAGS) $(CFLAGS) -o build-asan/perfsample build-asan/perfsample.o \
		$(CMD_SRCS:%.c=build-asan/%.o) build-asan/libperfsample.a $(DEP_LIBS) -lm
	@build-asan/unit-tests --jobs 2; u=$$?; \
	PS_BIN=$(CURDIR)/build-asan/perfsample tests/e2e/run.sh; e=$$?; \
	echo "check-asan: unit tests exit $$u, e2e exit $$e"; [ $$u = 0 ] && [ $$e = 0 ]
.PHONY: fuzz check-asan

# make demo and make test as a new user runs them: on a fresh minbase Debian root (debootstrap,
# chroot, as root), from a clone of HEAD under /root; fails on any failure or skipped test.
check-fresh:
	scripts/check-fresh.sh
.PHONY: check-fresh
