# PENDING (not run by tests/run): test_net's checksummed TCP transfer over
# --net pair with 2 vCPUs (no isolation).  In 2 of about 8 fresh-clone CI
# runs (2026-11-30, second and third sessions) it hung to its 300 s
# timeout with nothing printed (nc never finished); run alone it passes
# (4 of 4 in a row, 11-13 s each, 2026-11-30).  The 1-vCPU transfer has
# not failed.  Not looked into: a lost notification or interrupt between
# the two vCPU threads and the virtio-net device in the VMM, or the
# emulated test host (the same runs saw its kernel crash elsewhere).
# Run it: tools/testhost sh tests/pending/test_net_two.sh
CHARIOT_TEST_NET_TWO=1
export CHARIOT_TEST_NET_TWO
. tests/system/test_net.sh
