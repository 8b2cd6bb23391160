# PENDING (not run by tests/run): test_net's checksummed TCP transfer over
# --net pair with 2 vCPUs (no isolation).  In 2 of about 8 fresh-clone CI
# runs (2026-11-30, second and third sessions) it hung to its 300 s
# timeout with nothing printed (nc never finished); run alone it passes
# (4 of 4 in a row, 11-13 s each, 2026-11-30).  The 1-vCPU transfer has
# not failed.  Not looked into: a lost notification or interrupt between
# the two vCPU threads and the virtio-net device in the VMM, or the
# emulated test host (the same runs saw its kernel crash elsewhere).
# 2026-11-30, fourth session, 8 transfers of 8 MiB in a row (build-dir
# script, --timeout 60): 6 passed (9-18 s), one **triple fault** (vCPU 0)
# and one hang that the new timeout message located: vCPU 0 halted in the
# idle loop, vCPU 1 running at 0xffffffffc048820c - a module-area address
# past every module's text, and the very address an isolated virtio_net
# run (tests/pending/test_isolation_net.sh) stalled at.  So the 2-vCPU
# virtio-net failures there are most likely this one, isolation or not.
# What lives at that address was not found (at boot the module area holds
# only the BPF prog pack, one ftrace trampoline and the modules; it is
# allocated later).  Next: have the VMM dump the code at a stuck vCPU's
# RIP, and /proc/vmallocinfo (kptr_restrict=1) after the transfer starts.
# 2026-12-01: /proc/vmallocinfo (kptr_restrict=1) after a transfer started
# lists nothing past the modules (c0406000), and 8 such transfers in a row
# passed; the same RIP 0xffffffffc048820c then showed in a 2-vCPU
# virtio_blk run of test_isolation.sh hung in early boot after 16 VM exits
# in all (nothing loaded, no virtio-net): most likely the emulated AMD-V's
# state, not the guest's nor Chariot's (README, Recovery, known problem).
# 2026-12-01, the control experiment (tests/pending/qemu_net_two.sh): the
# same guest's 2-vCPU transfer under QEMU+KVM in the test host, no Chariot
# code, hung (soft lockup in nc) in 1 of 3 runs and the test host's kernel
# died in the 4th (stack guard page hit in exc_page_fault): the emulated
# AMD-V fails with two busy vCPUs.  Waits for hardware KVM.
# Run it: tools/testhost sh tests/pending/test_net_two.sh
CHARIOT_TEST_NET_TWO=1
export CHARIOT_TEST_NET_TWO
. tests/system/test_net.sh
