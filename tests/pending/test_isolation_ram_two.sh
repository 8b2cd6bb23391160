# PENDING (not run by tests/run): brd and null_blk isolated with 2 vCPUs,
# two dd writers at once (test_isolation's RAM-disk cases; their 1-vCPU
# runs are in the suite).  2026-12-01, nested test host, 6 test-host
# boots: null_blk passed 2 of 2.  brd (2 MiB + 2 MiB, ~50 s isolated):
# 13 passed, 8 guests triple-faulted (after 11-53 s, 0 violations), and
# 4 times the test host's own kernel died first ("Fatal exception in
# interrupt" / "stack guard page was hit" in exc_page_fault).  The rate
# went with the test-host boot: 0 of 6 failed in one, 5 of 6 in another.
# The triple faults' last exits to the VMM: 5 in the protected view at
# brd's own code (a trapped write), 3 in the normal view at a kernel
# entry the driver's vCPU had just switched to (_raw_spin_lock+0,
# asm_sysvec_apic_timer_interrupt+0, one more); KVM on AMD resets the
# vCPU before reporting, so nothing else is known.  Booting the guest with
# nopv (no KVM paravirtual spinlocks, TLB flush, IPIs, steal time) did not
# change it (6 of 6 passed in a good boot, 2 of 2 failed in a bad one).
# The same brd workload without --isolate, 2 vCPUs, passed every run
# (14 runs of 5-22 s, up to 150 rounds of the writers, 0 failures), and the same guest
# under QEMU+KVM in the test host hangs and kills the test host too
# (tests/pending/qemu_net_two.sh).  Not settled: whether isolation only
# makes the emulated AMD-V's fault more likely (its exits and view
# switches: ~66 000 per run here) or has a 2-vCPU race of its own (the
# view edits pause the other vCPU: 3400 per run).  Only hardware KVM can
# tell.  Later the same day, with the exit history a triple fault now
# prints (chariot: vCPU N's last exits): 4 triple faults in 11 runs.
# Twice the vCPU's last exit was brd_do_bvec's first store into a fresh
# data page (the inlined memcpy's mov %rcx,(%rax) at a page-aligned GPA,
# protected view), allowed and the page opened ("+1 edits"), then the
# triple fault with no exit between; twice a doorbell (io w 0x5d4) in the
# normal view (edits not yet counted then).  Holding every other vCPU out
# of KVM_RUN at each edit (an experiment) changed nothing: 3 triple
# faults and 1 hang in 8 runs: a first store, a doorbell with "+1 edits",
# and one right after a plain view switch (asm_sysvec_apic_timer_interrupt
# fetched in the protected view, switched to normal, no edit).  A change of the vCPU's view (SMM flag or slots)
# right before it runs is the lead to follow on hardware KVM.
# 2026-12-03: in a test host of ONE CPU (CHARIOT_TESTHOST_CPUS=1) brd and
# virtio_blk with 2 vCPUs passed every time they ran (3 runs each, no
# triple fault); the test host still locked up, in other ways (see
# tests/pending/test_two_vcpus.sh).
# Run it (virtio_blk, brd and null_blk with 2 vCPUs: test_isolation's
# CHARIOT_TEST_VCPUS=2 mode):
#   CHARIOT_TESTHOST_CPUS=1 tools/testhost sh tests/pending/test_isolation_ram_two.sh
CHARIOT_TEST_VCPUS=2
export CHARIOT_TEST_VCPUS
. tests/system/test_isolation.sh
