# PENDING (not run by tests/run): virtio_net isolated under a 2-vCPU TCP
# transfer.  It passed twice in the test host (4 MiB, enforce, 0
# violations; 2026-11-30: 21113 entries, 5.3 trapped writes per entry, 209
# s), but most runs end otherwise: the guest stalls (the watchdog finds
# nothing to open: 19181 unresolved stalls in one run), resets (triple
# fault), or the test host's own kernel crashes (a stack overflow in its
# page-fault path inside KVM_RUN: the emulated SVM), and one build showed
# a false alarm in start_xmit (skb->data) that the fix of slab-page grants
# explains.  Suspects left: locked read-modify-writes KVM emulates into
# trapped writes (lost atomicity against the other vCPU), ~50 exits per
# entry, entry probes missed by kprobes (204 in one run: the driver then
# runs without its ENTER).
# Run it: tools/testhost sh tests/pending/test_isolation_net.sh
#
CHARIOT_TEST_NET=1
export CHARIOT_TEST_NET
. tests/system/test_isolation.sh
