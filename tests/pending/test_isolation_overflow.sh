# PENDING (not run by tests/run): chariot_buggy's overflow trigger must be
# denied (enforce) or learned (learn).  It passes in most runs, but now and
# then every overflow of a run lands with no violation: the neighbouring
# kmalloc-64 object was writable by the driver.  Causes found and fixed
# (2026-11-30, second session): a new slab page taken by the slab
# allocator inside the driver's call was granted whole when the kmalloc
# kretprobe that should have marked it "the allocator's own" was missed
# (11-85 such pages a run, now never granted); frees missed by kprobes
# (now tracepoints); stale system pages (page tables and stacks of exited
# processes, now closed when freed: PAGE_FREED).  After those fixes the
# learn run still missed once in 4 full test_isolation runs (8 of 8 runs
# of the triggers alone passed).  A failing run now prints where the
# neighbour was (in the ACT, with the grant's kind and cookie, or a system
# page) from the VMM's CHARIOT_DEBUG_DUMP: read that line next.
# Run it: tools/testhost sh tests/pending/test_isolation_overflow.sh
CHARIOT_TEST_OVERFLOW=1
export CHARIOT_TEST_OVERFLOW
. tests/system/test_isolation.sh
