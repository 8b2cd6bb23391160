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

all: $(B)/chariot

include bench/act.mk

$(B)/chariot: $(OBJS) $(CLIOBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit-tests: $(OBJS) $(UNITOBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

unit: $(B)/unit-tests
	$(B)/unit-tests

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
	rm -rf $(B)/obj $(B)/chariot $(B)/unit-tests
	$(MAKE) -C guest clean

.PHONY: all unit guest testhost-image test demo clean
-include $(OBJS:.o=.d) $(CLIOBJS:.o=.d) $(UNITOBJS:.o=.d)
