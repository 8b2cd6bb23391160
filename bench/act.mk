# bench/act.mk - included by the top Makefile (`include bench/act.mk`);
# `make build/bench-act && build/bench-act` runs the ACT benchmark.
# Always -O2, whatever CFLAGS says about debugging.
$(B)/bench-act: bench/act.c $(B)/obj/src/iso/act.o
	$(CC) $(CFLAGS) -O2 -o $@ $^ $(LDLIBS)
