# PENDING (not run by tests/run): test_recovery's brd case with its data
# check.  brd failed (debugfs fail) while a writer loops on /dev/ram0 with
# O_DIRECT: the bio in flight is ended with an I/O error (the writer is
# not left waiting: checked in tests/run), brd is torn down and reloaded
# (its parameters back, the module live), but the new /dev/ram0 then
# cannot be opened (EINVAL, every try for 80 s in 2026-11-30's run) nor
# read, so the data check fails; reloaded while nothing had it open, the
# new ram0 works (written and read back).  Likely the old disk's block
# device still held when the new one registered the same number (its
# unload likely waited the whole 5 s for references: recovery took 5.6 s);
# not looked into yet.
# Run it: tools/testhost sh tests/pending/test_recovery_brd.sh
CHARIOT_TEST_BRD_DATA=1
export CHARIOT_TEST_BRD_DATA
. tests/system/test_recovery.sh
