# PENDING (not run by tests/run): chariot_buggy's overflow trigger must be
# denied (enforce) or learned (learn).  It passed in most runs of this
# session, but in two test-host runs on 2026-11-30 every overflow landed
# with no violation (enforce: 3 of 3; learn: once): the neighbouring
# kmalloc-64 object was inside chariot_buggy's ACT.  Suspect: a grant never
# revoked (an object or page the driver was given and that was freed by a
# path the monitor does not probe, e.g. put_page, kfree_rcu, or a free in
# another context), so the reused memory stays writable by the driver.
# The campaign saw a related gap (brd_alloc+0xe6, a grant missing at init).
# Run it: tools/testhost sh tests/pending/test_isolation_overflow.sh
CHARIOT_TEST_OVERFLOW=1
export CHARIOT_TEST_OVERFLOW
. tests/system/test_isolation.sh
