# Whole-system: virtio-net pair, a checksummed TCP transfer eth0 -> eth1.
. tests/system/lib.sh

expect_status "TCP transfer over --net pair" 0 $CHARIOT run --net pair --timeout 300 -- \
	sh -c 'chariot-netpair || exit 10
	       dd if=/dev/urandom of=/tmp/data bs=1M count=8 2>/dev/null
	       want=$(sha256sum < /tmp/data | cut -d" " -f1)
	       ip netns exec peer sh -c "nc -l -p 5001 > /tmp/recv" &
	       sleep 1
	       nc 10.0.0.2 5001 < /tmp/data || nc -w 5 10.0.0.2 5001 < /tmp/data
	       wait
	       got=$(sha256sum < /tmp/recv | cut -d" " -f1)
	       echo "want=$want got=$got"
	       [ "$want" = "$got" ] || exit 11
	       grep -q "eth1" /proc/net/dev && exit 12
	       echo rx=$(ip netns exec peer cat /sys/class/net/eth1/statistics/rx_bytes)'
expect_grep "checksums match" '^want=\([0-9a-f]*\) got=\1' "$T/out"

finish
