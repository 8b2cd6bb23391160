# Whole-system: virtio-blk disks, both directions, checked by checksum.
. tests/system/lib.sh

# Guest writes -> the image file on the host.
truncate -s 16M "$T/out.img"
expect_status "guest writes /dev/vda" 0 $CHARIOT run --disk "$T/out.img" --timeout 180 -- \
	sh -c 'dd if=/dev/urandom of=/tmp/data bs=1M count=4 2>/dev/null &&
	       dd if=/tmp/data of=/dev/vda bs=1M conv=fsync 2>/dev/null &&
	       sha256sum /tmp/data'
want=$(awk '/\/tmp\/data/{print $1}' "$T/out")
got=$(head -c 4M "$T/out.img" | sha256sum | cut -d' ' -f1)
if [ -n "$want" ] && [ "$want" = "$got" ]; then
	pass "guest write lands in the image file"
else
	fail "guest write lands in the image file" "guest $want, host $got"
fi

# Host writes -> read back in the guest, on the second disk.
truncate -s 8M "$T/a.img"
head -c 8M /dev/urandom > "$T/in.img"
want=$(sha256sum < "$T/in.img" | cut -d' ' -f1)
expect_status "guest reads /dev/vdb" 0 $CHARIOT run --disk "$T/a.img" --disk "$T/in.img" \
	--timeout 180 -- sh -c 'echo sum=$(sha256sum < /dev/vdb | cut -d" " -f1)'
expect_grep "host-written image reads back in the guest" "^sum=$want" "$T/out"

# A filesystem survives a remount (flushes honoured on the way).
truncate -s 64M "$T/fs.img"
expect_status "ext4 on /dev/vda" 0 $CHARIOT run --disk "$T/fs.img" --timeout 300 -- \
	sh -c 'mkfs.ext4 -q /dev/vda && mount /dev/vda /mnt &&
	       dd if=/dev/urandom of=/mnt/f bs=1M count=8 2>/dev/null &&
	       sha256sum /mnt/f > /mnt/f.sum && umount /mnt'
expect_status "ext4 checks out after a reboot" 0 $CHARIOT run --disk "$T/fs.img" \
	--timeout 300 -- sh -c 'mount /dev/vda /mnt && cd /mnt && sha256sum -c f.sum'

finish
