# Whole-system: virtio-net pair, a checksummed TCP transfer eth0 -> eth1.
. tests/system/lib.sh

# lib.sh's transfer, then: eth1 must be gone from the root namespace (the
# traffic crosses both NICs, not loopback).
XFER="$(net_xfer 8)"'
grep -q "eth1:" /proc/net/dev && exit 12
echo rx_bytes=$(ip netns exec peer cat /sys/class/net/eth1/statistics/rx_bytes)'

# 2 vCPUs only with CHARIOT_TEST_NET_TWO set (tests/pending/test_net_two.sh
# says why).
for cpus in 1 ${CHARIOT_TEST_NET_TWO:+2}; do
	expect_status "TCP transfer over --net pair, $cpus vCPU" 0 $CHARIOT run \
		--cpus $cpus --net pair --timeout 300 -- sh -c "$XFER"
	expect_grep "checksums match, $cpus vCPU" '^want=\([0-9a-f]*\) got=\1$' "$T/out"
	rx=$(sed -n 's/^rx_bytes=//p' "$T/out")
	[ "${rx:-0}" -gt 8388608 ] && pass "eth1 received it all, $cpus vCPU" ||
		fail "eth1 received it all, $cpus vCPU" "rx_bytes=$rx"
done

finish
