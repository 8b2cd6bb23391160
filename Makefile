# Chariot: `make` builds build/chariot; see README.md for set-up.
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude -Isrc -MMD -MP
LDLIBS  += -lpthread $(shell pkg-config --libs capstone 2>/dev/null || echo -lcapstone)

B       := build
SRCS    := $(wildcard src/vmm/*.c src/devices/*.c src/iso/*.c src/inject/*.c src/campaign/*.c)
CLI     := $(wildcard src/cli/*.c)
UNIT    := $(wildcard tests/unit/*.c)
OBJS    := $(SRCS:%.c=$(B)/obj/%.o)
CLIOBJS := $(CLI:%.c=$(B)/obj/%.o)
UNITOBJS:= $(UNIT:%.c=$(B)/obj/%.o)
# The ring model check's producer: the guest monitor's own code.
MODELSRC:= guest/monitor/ring.c guest/monitor/post.c tests/model/producer.c
MODELOBJS:= $(MODELSRC:%.c=$(B)/obj/model/%.o)

all: $(B)/chariot

include bench/act.mk

$(B)/chariot: $(OBJS) $(CLIOBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit-tests: $(OBJS) $(UNITOBJS) $(MODELOBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The ring model check (tests/unit/test_ring_model.c) runs the guest
# monitor's producer in user space, over the kernel stand-ins of
# tests/model/shim.
MODELFLAGS := -std=gnu11 -Wall -Wextra -Werror -MMD -MP -Itests/model/shim \
	   -Itests/model -Iguest/monitor -Iinclude \
	   -include tests/model/shim/kernel_env.h \
	   -DKBUILD_MODNAME='"chariot_monitor"'
MODELOPT ?= -O2 -g
$(B)/obj/model/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(MODELOPT) $(MODELFLAGS) -c -o $@ $<
$(B)/obj/tests/unit/test_ring_model.o: CFLAGS += -Itests/model

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

unit: $(B)/unit-tests
	$(B)/unit-tests

# The same unit tests built with AddressSanitizer and UBSan, apart in
# $(B)/asan (tests/run runs them too).
SANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer
unit-asan:
	CFLAGS="$(SANFLAGS)" $(MAKE) -s B=$(B)/asan MODELOPT="$(SANFLAGS)" \
		$(B)/asan/unit-tests

# Coverage-guided fuzzing (libFuzzer) of what a guest or a damaged file can
# hand the VMM: each tests/fuzz/fuzz_*.c linked with the VMM's objects,
# built apart in $(B)/fuzz by clang with ASan and UBSan (tests/fuzz/run.sh
# runs them; tests/run does, and `make fuzz` for longer).
FUZZFLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer -Wno-gnu-variable-sized-type-not-at-end
FUZZ      := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
fuzz-build:
	CC=clang CFLAGS="$(FUZZFLAGS) -fsanitize=fuzzer-no-link" $(MAKE) -s \
		B=$(B)/fuzz $(FUZZ:%=$(B)/fuzz/fuzz-%) $(B)/fuzz/seeds-gen
$(B)/fuzz-%: tests/fuzz/fuzz_%.c $(OBJS)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(OBJS) $(LDLIBS)
$(B)/seeds-gen: tests/fuzz/seeds.c
	$(CC) $(CFLAGS) -o $@ $<
FUZZTIME ?= 300
fuzz:
	CHARIOT_FUZZ_TIME=$(FUZZTIME) tests/fuzz/run.sh

# The guest: monitor module and initramfs (needs tools/setup to have run).
guest: all
	$(MAKE) -C guest

testhost-image:
	tools/mktesthost

# The README's two commands: each does all set-up itself (tools/setup).
test:
	tests/run

demo:
	tools/setup
	tools/testhost tools/demo

clean:
	rm -rf $(B)/obj $(B)/chariot $(B)/unit-tests $(B)/asan $(B)/fuzz
	$(MAKE) -C guest clean

.PHONY: all unit unit-asan fuzz-build fuzz guest testhost-image test demo clean
-include $(OBJS:.o=.d) $(CLIOBJS:.o=.d) $(UNITOBJS:.o=.d) $(MODELOBJS:.o=.d)
-include $(wildcard $(B)/fuzz-*.d)
