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
# 2026-12-01: the same miss failed test_recovery once in CI (overflow
# rc=0; no lock probes in that build, so it is not what got the spin-lock
# release reverted).  Suspect, from reading guest/monitor/alloc.c:
# grant_traced() grants every kmalloc/kmem_cache allocation made while the
# context is inside the driver to the driver, the kernel's own included
# (the disk chariot_buggy's init makes: kobject names, sysfs and bdi
# objects, many kmalloc-64).  A buffer next to such an object has a
# granted neighbour, and all three overflows land (the slot is reused).
# Check it with the dump line a failing run prints (its grant's kind and
# cookie), then weigh granting only allocations whose call_site is in the
# domain's code (kernel helpers' allocations for the driver would then
# need interface grants: measure false alarms on all four drivers).
# Run it: tools/testhost sh tests/pending/test_isolation_overflow.sh
CHARIOT_TEST_OVERFLOW=1
export CHARIOT_TEST_OVERFLOW
. tests/system/test_isolation.sh
