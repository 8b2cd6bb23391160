# PENDING (not run by tests/run): brd isolated from its boot load raised,
# now and then, one false alarm at brd_alloc+0xe6: brd's init list_adds the
# next disk into the previous disk's kmalloc'd brd_device (+0x10), whose
# grant was missing.  Seen in a campaign (2 of 3 runs once, 0 of 3 the
# next) and in 1 of about 6 test_isolation runs on 2026-11-30.  Likely
# cause, fixed in the second session of 2026-11-30: a kretprobe on the
# kmalloc family skipped because an interrupt came in the middle of another
# kprobe's handler (the monitor counted such misses; allocations are now
# followed by the kmalloc tracepoints, which cannot be skipped so).  Passed
# in the 5 runs since (the last, 2026-11-30 third session: 67 passed, brd
# 1155 entries, 9.9 trapped writes and 49 exits per entry, 1145 pages
# opened); at the old rate (1 in 6) 5 passes in a row would still come 4
# times in 10, so it stays pending until more runs say so.
# Run it: tools/testhost sh tests/pending/test_isolation_brd.sh
CHARIOT_TEST_BRD=1
export CHARIOT_TEST_BRD
. tests/system/test_isolation.sh
