# Makefile: build every lab, test them (plain, ASan+UBSan, TSan), bench them.
# `make help` lists the targets.

CC      ?= cc
CSTD    := -std=c11 -D_POSIX_C_SOURCE=200809L
WARN    := -Wall -Wextra -Werror
OPT     := -O2 -g
DEPS    := -MMD -MP

# VARIANT selects a build directory and sanitizer flags, so the three builds
# never mix objects:  (none) -> build/   asan -> build/asan/   tsan -> build/tsan/
# BUILDROOT moves all three (two people, or two checkouts' tools, building at
# once must not share object files).
VARIANT   ?=
BUILDROOT ?= build
ifeq ($(VARIANT),)
BUILD   := $(BUILDROOT)
SAN     :=
else ifeq ($(VARIANT),asan)
BUILD   := $(BUILDROOT)/asan
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
else ifeq ($(VARIANT),tsan)
BUILD   := $(BUILDROOT)/tsan
SAN     := -fsanitize=thread
else
$(error VARIANT must be empty, asan or tsan)
endif

CFLAGS  := $(CSTD) $(WARN) $(OPT) $(SAN) -pthread -Icommon
# -z now: resolve every library symbol at start-up.  With lazy binding, a
# forked child's first call to a libc function (prctl, getppid, ...) runs
# the resolver and writes the GOT: a copy-on-write fault in every child, on
# the measured path.  Measured here: children start 0.5 ms sooner.
LDFLAGS := $(SAN) -pthread -Wl,-z,now
LDLIBS  := -lm
BIN     := $(BUILD)/bin
OBJ     := $(BUILD)/obj

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(OBJ)/%.o)
LIBCOMMON  := $(BUILD)/libcommon.a

# Every labs/NN-name/ directory builds one program, $(BIN)/name, from its .c
# files -- except lab 10 cluster, an MPI program, built by its own rule below.
MPI_LAB  := labs/10-cluster
LAB_DIRS := $(filter-out $(MPI_LAB),$(sort $(wildcard labs/[0-9]*-*)))
lab_name  = $(shell echo $(notdir $(1)) | sed 's/^[0-9]*-//')
LAB_BINS := $(foreach d,$(LAB_DIRS),$(BIN)/$(call lab_name,$(d)))
MPICC    ?= mpicc
HAVE_MPI := $(shell command -v $(MPICC) 2>/dev/null)
LAB_BINS += $(if $(HAVE_MPI),$(BIN)/cluster)

TEST_SRC := $(wildcard tests/*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(OBJ)/%.o)
TEST_BIN := $(BIN)/tests
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

.PHONY: all labs tests test check check-handouts run-tests bench plots deps clean help skels grade check-skels
all: labs
labs: $(LAB_BINS)
# The labs and the test runner, without running anything.
tests: $(LAB_BINS) $(TEST_BIN)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPS) -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

define LAB_RULE
$(BIN)/$(call lab_name,$(1)): $(patsubst %.c,$(OBJ)/%.o,$(wildcard $(1)/*.c)) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) $$^ $$(LDLIBS) -o $$@
endef
$(foreach d,$(LAB_DIRS),$(eval $(call LAB_RULE,$(d))))

# Lab 10 cluster: compiled and linked with mpicc (Open MPI's wrapper: the same
# cc, plus MPI's include path and libraries), same flags and sanitizers, and
# libcommon.a.  Without mpicc it is left out, said in one line, and nothing
# else changes (its tests then report one skipped test).  What the sanitizers
# need at run time for Open MPI's own code (ASan: no leak check in the MPI
# runs; TSan: one suppression) is set by labs/10-cluster/cluster.sh, and why.
ifneq ($(HAVE_MPI),)
$(OBJ)/$(MPI_LAB)/%.o: $(MPI_LAB)/%.c
	@mkdir -p $(dir $@)
	$(MPICC) $(CFLAGS) $(DEPS) -c $< -o $@
$(BIN)/cluster: $(patsubst %.c,$(OBJ)/%.o,$(wildcard $(MPI_LAB)/*.c)) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(MPICC) $(LDFLAGS) $^ $(LDLIBS) -o $@
else
$(info lab 10 cluster: not built, $(MPICC) not found: apt-get install openmpi-bin libopenmpi-dev (or make deps))
endif

# The manager's TCP key check (common/manager.c) uses OpenSSL's libcrypto:
# only that object and the programs that link it need its flags.
CRYPTO_CFLAGS := $(shell pkg-config --cflags libcrypto 2>/dev/null)
CRYPTO_LIBS   := $(shell pkg-config --libs libcrypto 2>/dev/null || echo -lcrypto)
$(OBJ)/common/manager.o: CFLAGS += $(CRYPTO_CFLAGS)
$(BIN)/share $(TEST_BIN): LDLIBS += $(CRYPTO_LIBS)

# The tests run the lab binaries of the same variant, found through BIN_DIR.
$(OBJ)/tests/%.o: CFLAGS += -DBIN_DIR='"$(abspath $(BIN))"' -DVARIANT='"$(VARIANT)"' \
                             -DSOURCE_DIR='"$(abspath .)"'
$(TEST_BIN): $(TEST_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(CHECK_LIBS) $(LDLIBS) -o $@

# Sanitizers: stop at the first report, and make it fail the test.
export ASAN_OPTIONS  := abort_on_error=0:detect_leaks=1:exitcode=66
export UBSAN_OPTIONS := halt_on_error=1:print_stacktrace=1:exitcode=66
# atexit_sleep_ms=0: TSan otherwise pauses 1 s at every exit, and the tests
# start hundreds of short-lived processes.
export TSAN_OPTIONS  := halt_on_error=1:exitcode=66:second_deadlock_stack=1:atexit_sleep_ms=0
# TEST_SHARDS: how many runners share the machine (default: two per core,
# at most 4; see scripts/run-tests.sh).  TEST_SHARDS=1 runs the suites one by one.
# Check's per-test timeouts are sized for the plain build; sanitized code is
# slower, so they are scaled rather than loosened for everyone.
run-tests: $(LAB_BINS) $(TEST_BIN)
	@echo "== tests ($(if $(VARIANT),$(VARIANT),plain build))"
	CK_TIMEOUT_MULTIPLIER=$(if $(VARIANT),4,1) scripts/run-tests.sh $(TEST_BIN) $(TEST_SHARDS)

# The builds behind test, check and bench compile one file per core.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

test: deps
	$(MAKE) --no-print-directory -j$(JOBS) run-tests
	$(MAKE) --no-print-directory check-handouts
	$(MAKE) --no-print-directory check-skels
	$(MAKE) --no-print-directory check

# Every transcript in every handout, replayed and compared by shape with
# what the programs print now (scripts/check-handouts.pl; plain build).
check-handouts: labs $(TEST_BIN)
	@echo "== handouts: every transcript replayed"
	scripts/check-handouts.pl

check:
	$(MAKE) --no-print-directory -j$(JOBS) run-tests VARIANT=asan
	$(MAKE) --no-print-directory -j$(JOBS) run-tests VARIANT=tsan

# Student exercises: skeletons cut from the labs' own sources, graded by the
# labs' own integration tests (scripts/skels.sh, scripts/grade.sh).
skels:
	scripts/skels.sh $(LAB)

# Every lab is graded with the link flags of the one that needs most (share).
GRADE_ENV = CC="$(CC)" MPICC="$(MPICC)" CFLAGS="$(CFLAGS)" LDFLAGS="$(LDFLAGS)" LDLIBS="$(LDLIBS) $(CRYPTO_LIBS)"
grade: $(LIBCOMMON) $(TEST_BIN) $(LAB_BINS)
	@$(GRADE_ENV) scripts/grade.sh "$(LAB)" $(if $(SOLUTION),solution)

# Every fresh skeleton fails its checks; the grader passes a reference.
check-skels: $(LIBCOMMON) $(TEST_BIN) $(LAB_BINS)
	@echo "== skeletons: each fails its lab's checks until written"
	@$(GRADE_ENV) scripts/check-skels.sh

bench: deps
	$(MAKE) --no-print-directory -j$(JOBS) all
	scripts/bench.sh

plots:
	scripts/plots.sh

deps:
	@scripts/deps.sh

clean:
	rm -rf $(BUILDROOT)

help:
	@echo "make            build every lab into build/bin/"
	@echo "make tests      build the labs and the test runner, run nothing"
	@echo "make test       install what is missing, then run the tests: plain, ASan+UBSan, TSan"
	@echo "make check      the sanitizer passes alone (ASan+UBSan, then TSan)"
	@echo "make check-handouts  replay every handout transcript and compare it with the programs"
	@echo "make bench      run every lab's benchmark, draw plots/, write results/REPORT.md"
	@echo "                SIZE=quick (smoke run) or SIZE=full (the documents' full sizes)"
	@echo "make plots      redraw plots/ from the data already in results/"
	@echo "make skels      write students/NN-name/: each lab with its exercises cut out"
	@echo "make grade LAB=NN   run lab NN's checks on your copy (SOLUTION=1: on the reference)"
	@echo "make deps       install gcc, make, gnuplot, hyperfine, check, Open MPI (apt-get, as root)"
	@echo "make clean      remove build/"

-include $(COMMON_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(wildcard $(OBJ)/labs/*/*.d)
