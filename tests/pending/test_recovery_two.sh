# PENDING (not run by tests/run): test_recovery's fault while two vCPUs use
# chariot_buggy (null_deref on one vCPU while dd reads of its disk and "ok"
# triggers loop on both).  Passed in 23 of 28 runs on 2026-11-30 (third
# session, with and without its changes: 3 of 5 as this file runs it, 20
# of 23 as a script with the guest's console at loglevel 5 or 7; the last
# 18 in a row passed; all 5 failures came in the session's first hour,
# one of them while a kernel module build loaded the 2-core host);
# the others ended in the guest
# (a soft lockup of one CPU in a looping sh for minutes; a triple fault
# right after the reload; both vCPUs idle, the VMM silent) or in the test
# host itself (its kernel froze, or crashed in KVM_RUN: a stack overflow
# in its page-fault path, GS base 0; test_isolation_net.sh sees the same
# set).  The one-vCPU cases of the same file failed in none of them (the
# test host froze once in one).
# Ruled out here: the non-atomic emulation of a driver's locked
# read-modify-writes (README, "How isolation works"): chariot_buggy's code
# has no lock prefix nor xchg with memory (objdump; virtio_net has 26,
# null_blk 12, virtio_blk and brd none).  Suspects left, none proven: the
# reload's code patching (ftrace and kprobes on the new module's text,
# whose pages are holes in the normal view) while the other vCPU calls
# into that module (the triple fault came right after a reload); the
# view switching and pause protocol of two vCPUs in the VMM (both vCPUs
# idle, the VMM silent: a deadlock?  build-dir scripts that dump a stuck
# VMM's threads with gdb caught none in 18 runs).
# 2026-11-30, fourth session (with a lock release since reverted): 6 runs
# of the case as build/two4.sh runs it: 5 passed; the 6th never reached
# its insmod - the 2-vCPU guest hung in early boot (console silent after
# 0.4 s, before the monitor isolated anything): the same 2-vCPU hang as
# tests/pending/test_net_two.sh's, isolation not involved.
# 2026-12-01, the control experiment (tests/pending/qemu_net_two.sh): the
# same guest's 2-vCPU transfer under QEMU+KVM in the test host, no Chariot
# code, hung (soft lockup in nc) in 1 of 3 runs and the test host's kernel
# died in the 4th (stack guard page hit in exc_page_fault): the emulated
# AMD-V fails with two busy vCPUs.  Waits for hardware KVM.
# 2026-12-03 (eleventh session), after the fix of holes that stayed at a
# reloaded driver's old pages (engine.c, code_gen; suspected for the
# "triple fault right after the reload"): no better.  12 test-host boots
# of 3-10 rounds each: 14 rounds passed, 4 triple-faulted, and 9 of the
# 12 test hosts died themselves ("Fatal exception in interrupt", "corrupted
# stack end detected inside scheduler", stack guard page hit in
# exc_page_fault, QEMU aborting once) within 3 rounds.  Of the 4, 2
# came before the faulting trigger returned, 2 after (while or after the
# driver was reloaded); each right after a view switch, as
# test_isolation_ram_two.sh's do (last exits: a timer interrupt's entry
# fetched in the protected view, switched to normal; an iret back into
# buggy_ok's read loop fetched in the normal view, switched to
# protected, then the shutdown with no exit between; kprobe_ftrace_handler
# fetched protected, switched to normal).
# In a test host of ONE CPU it passed 16 times of 16 (2026-12-03, 4 test
# hosts), no triple fault; see tests/pending/test_two_vcpus.sh.
# Run it (test_recovery's CHARIOT_TEST_VCPUS=2 mode: this case alone):
#   CHARIOT_TESTHOST_CPUS=1 tools/testhost sh tests/pending/test_recovery_two.sh
CHARIOT_TEST_VCPUS=2
export CHARIOT_TEST_VCPUS
. tests/system/test_recovery.sh
