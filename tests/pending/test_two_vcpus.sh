# PENDING (not run by tests/run): every whole-system case with 2 vCPUs.
# The stock drivers isolated under their workloads (virtio_blk's ext4,
# two dd writers on brd and on null_blk, with CHARIOT_TEST_NET=1
# virtio_net's TCP transfer: no false alarm, data intact), a fault in
# chariot_buggy while both vCPUs use it (the guest goes on, the driver
# comes back and serves), and a plain 2-vCPU TCP transfer.  The cases are
# test_isolation's, test_recovery's and test_net's own: the first two
# run only their 2-vCPU cases with CHARIOT_TEST_VCPUS=2, test_net its
# 2-vCPU one with CHARIOT_TEST_NET_TWO=1 (after its 1-vCPU one).
#
# Why pending (README, "Two vCPUs in the test host"): in the emulated
# AMD-V, busy 2-vCPU guests fail, Chariot or not.  In test hosts of two
# CPUs guests triple-fault right after a view switch and the test host's
# own kernel dies; in test hosts of one CPU (CHARIOT_TESTHOST_CPUS=1, the
# way to run this file) no guest triple-faulted in 2026-12-03's runs
# (recovery 16 of 16, virtio_blk 4 of 4, brd 3 of 3), but the test host
# locked up in 6 of 10 boots, null_blk's case bringing that on each time.
# Hardware KVM is what these cases wait for.
#   CHARIOT_TESTHOST_CPUS=1 tools/testhost sh tests/pending/test_two_vcpus.sh
rc=0
for f in test_isolation test_recovery; do
	CHARIOT_TEST_VCPUS=2 sh tests/system/$f.sh || rc=1
done
CHARIOT_TEST_NET_TWO=1 sh tests/system/test_net.sh || rc=1
exit $rc
