# attncheck: one static library from theory/, solvers/ and verify/; the CLI and
# the Criterion suite link it.  `make SANITIZE=1 ...` builds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer into build-san/.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS = -I. -D_POSIX_C_SOURCE=200809L
STD      = -std=c11
LIBS     = -lgsl -llapacke -lopenblas -lmpfr -lgmp -ljansson -lz -lm

ifeq ($(SANITIZE),1)
BUILD   ?= build-san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build
endif

LIB_SRC  = $(wildcard solvers/*.c theory/*.c verify/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC  = $(wildcard cli/*.c)
CLI_OBJ  = $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC = $(wildcard tests/*.c)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)

LIBA = $(BUILD)/libattncheck.a
BIN  = $(BUILD)/attncheck
TBIN = $(BUILD)/attncheck-tests

# Debian packages the build, the tests and the results need (make deps).
DEPS_PKGS = libgsl-dev liblapacke-dev libopenblas-dev libmpfr-dev libgmp-dev \
            libcriterion-dev libjansson-dev pkg-config gnuplot-nox locales \
            python3-sklearn fortunes zlib1g-dev gcc libc6-dev
# Data read from Debian packages, never copied into the project: scikit-learn's
# 1797 handwritten digits (paths.digits) and the fortunes text corpus
# (joma.text-entropy).
# A locale with a decimal comma, so that the tests that write numbers under it
# (svm_io, report) run instead of skipping: %.17g must give '.' whatever the
# locale.
TEST_LOCALE = de_DE.UTF-8
BENCH_PKGS = python3-numpy python3-scipy python3-cvxopt python3-torch hyperfine libsundials-dev
FUZZ_PKGS  = clang libclang-rt-14-dev

.PHONY: all lib deps test test-sanitize test-valgrind results baseline regress bench faults fuzz clean
all: $(BIN)

# make lib: the static library alone, for linking your own C programs
# (docs/library.md; tests/cli_library.sh builds examples/lib/ against it).
lib: $(LIBA)

deps:
	@./.ci/apt-install $(DEPS_PKGS)
	@./.ci/apt-install --locale $(TEST_LOCALE)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(STD) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

# verify/joma_text.c at -O3: the text model's element-wise loops over its
# rows (the output softmax, the layer norms, the residuals, Adam) vectorise
# there, where GCC 12's -O2 vectorises only loops that need no remainder and
# no alias check.  The results keep every bit (no reassociation without
# -ffast-math: the weights after 60 steps compared), and a one-thread
# training step is 1.13x faster at the default size (bench/joma_text.sh).
# VEC_CFLAGS= builds it like the rest.
VEC_CFLAGS ?= -O3
$(BUILD)/verify/joma_text.o: CFLAGS += $(VEC_CFLAGS)

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(LIBA) $(LIBS)

$(TBIN): $(TEST_OBJ) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(LIBA) -lcriterion $(LIBS)

# The suite runs the CLI too (tests/cli.sh, and tests/cli_<paper>.sh for each
# paper's own command): exit codes and messages.
CLI_TESTS = tests/cli.sh $(sort $(wildcard tests/cli_*.sh))
test: deps
	$(MAKE) $(TBIN) $(BIN)
	AC_BIN=$(BIN) ./$(TBIN) --jobs 2
	@for s in $(CLI_TESTS); do echo "$$s"; AC_BIN=$(BIN) ./$$s || exit 1; done

test-sanitize: deps
	$(MAKE) SANITIZE=1 test-run-san

.PHONY: test-run-san
test-run-san: $(TBIN) $(BIN)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 AC_BIN=$(BIN) ./$(TBIN) --jobs 2
	@for s in $(CLI_TESTS); do echo "$$s"; ASAN_OPTIONS=detect_leaks=1 AC_BIN=$(BIN) ./$$s || exit 1; done

# The suite under valgrind (memcheck), every forked test child traced; a
# memory error or a leak exits 99, which fails the test that made it.
test-valgrind: deps
	@./.ci/apt-install valgrind
	$(MAKE) $(TBIN) $(BIN)
	AC_UNDER_VALGRIND=1 AC_BIN=$(BIN) valgrind -q --trace-children=yes --trace-children-skip='*python*,*/sh,*/bash,*gnuplot*' \
	  --error-exitcode=99 --leak-check=full \
	  --errors-for-leak-kinds=definite --show-leak-kinds=definite \
	  --suppressions=tests/valgrind.supp ./$(TBIN) --jobs 2

# Tables, figures and the index.  A claim that fails is a result, not a
# build error: its FAIL row is in the tables and the exit status 1 is kept
# only as a message; bad usage (2) stops make.
results: deps $(BIN)
	@./$(BIN) run --size default --quiet --out results; st=$$?; \
	  if [ $$st -eq 1 ]; then echo "make results: some claim FAILS (see results/README.md)"; fi; \
	  [ $$st -le 1 ]

baseline: deps $(BIN)
	@./$(BIN) run --size default --quiet --format json --out results/baseline; [ $$? -le 1 ]

regress: deps $(BIN)
	./$(BIN) regress --baseline results/baseline

bench: deps $(BIN)
	@./.ci/apt-install $(BENCH_PKGS)
	./bench/run.sh $(BIN)

# make faults: plant each fault of tests/faults/*.faults alone in a temporary
# copy of the tree, build it, run the module's tests and regress, and count
# what they catch into results/faults.md (docs/faults.md; ~45 min on 2 cores).
# FAULTS=id1,id2 picks faults, FAULTS_SCOPE=all runs make test's checks.
FAULTS_PKGS = python3 coreutils tar util-linux
faults: deps $(BIN) $(TBIN)
	@./.ci/apt-install $(FAULTS_PKGS)
	./tests/faults/run.sh

# make fuzz: the four libFuzzer targets of tests/fuzz (parsers: data, emb;
# graph building: graph; the solve: solve), FUZZ_SECONDS shared between them
# (150 s each by default); FUZZ_TARGETS picks some.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?=
fuzz: deps
	@./.ci/apt-install $(FUZZ_PKGS)
	./tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf build build-san build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
