/* workload.c - the campaign's workloads, one per driver. The recipes are
 * those tests/system/test_isolation.sh holds the isolation engine to, made
 * re-runnable (a retry starts from scratch) and bounded in time inside the
 * guest (a broken NIC fails the check instead of hanging the run). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "campaign/workload.h"

/* ext4 on /dev/vda: files written, summed, unmounted, caches dropped,
 * mounted again and checked. */
static const char blk_body[] =
"umount /mnt 2>/dev/null\n"
"mkfs.ext4 -q -F /dev/vda && mount /dev/vda /mnt || exit 10\n"
"dd if=/dev/urandom of=/mnt/big bs=1M count=8 2>/dev/null || exit 11\n"
"for i in 1 2 3 4 5 6 7 8; do\n"
"	dd if=/dev/urandom of=/mnt/f$i bs=4k count=$((i * 3)) 2>/dev/null || exit 11\n"
"done\n"
"(cd /mnt && sha256sum big f* > /tmp/sums) && umount /mnt || exit 11\n"
"echo 3 > /proc/sys/vm/drop_caches\n"
"mount /dev/vda /mnt && cd /mnt && sha256sum -c /tmp/sums >/tmp/check || exit 12\n"
"cd / && umount /mnt && echo fs-intact\n";

/* 1 MiB over TCP between the two NICs of --net pair, summed both ends.
 * Isolated, virtio_net moved ~18 KB/s in the nested test host (every
 * packet crosses between driver and kernel code dozens of times, each a
 * view switch there): 4 MiB outlived a 60 s bound and every isolated run,
 * clean ones too, failed its check.  1 MiB within 120 s per side leaves
 * 2x margin, and two attempts plus the boot stay inside the campaign's
 * default 300 s run timeout. */
static const char net_body[] =
"chariot-netpair || exit 10\n"
"dd if=/dev/urandom of=/tmp/data bs=1M count=1 2>/dev/null\n"
"want=$(sha256sum < /tmp/data | cut -d' ' -f1)\n"
"rm -f /tmp/hold /tmp/recv && mkfifo /tmp/hold\n"
"ip netns exec peer timeout 120 sh -c 'nc -l -p 5001 <>/tmp/hold >/tmp/recv' &\n"
"sleep 1\n"
"timeout 120 nc 10.0.0.2 5001 < /tmp/data\n"
"wait\n"
"got=$(sha256sum < /tmp/recv | cut -d' ' -f1)\n"
"echo \"want=$want got=$got\"\n"
"[ \"$want\" = \"$got\" ] || exit 11\n";

/* RAM disks. `--inject` mutates a module's first load only (src/inject/
 * inject.h), and init loads brd and null_blk at boot: the check must use
 * that instance, never load another: a fault that makes the boot instance's
 * init fail (an allocation failure) is a failure of the service, and only
 * recovery may bring the driver back (a `modprobe` in the check would load
 * a fresh, unmutated instance and hide it). brd's defaults (16 RAM disks of
 * CONFIG_BLK_DEV_RAM_SIZE = 16 MiB) serve as they are; null_blk's boot
 * device keeps no data, so a memory-backed one is made through its configfs
 * interface, by the same module instance (a reload with memory_backed=1 is
 * the fall-back, whose faults then never activate). The data is written
 * and read back past the page cache: 2 MiB to brd (as test_isolation.sh
 * does: 8 MiB took minutes isolated in the nested test host), 512 KiB to
 * null_blk (an isolated null_blk traps nearly every write of its copies:
 * 2 MiB took over 150 s there, 64k trapped writes).  The node is checked
 * right before each dd: while recovery has the disk away, dd would create
 * a plain file in its place, and the reloaded disk's node could not come
 * back (seen with a writer looping on /dev/ram0). */
#define RAMDISK_CHECK(dev, kib)						\
"dd if=/dev/urandom of=/tmp/d bs=64k count=$((" #kib " / 64)) 2>/dev/null\n"	\
"[ -b " dev " ] || exit 11\n"						\
"dd if=/tmp/d of=" dev " bs=64k conv=fsync 2>/dev/null || exit 11\n"	\
"echo 3 > /proc/sys/vm/drop_caches\n"					\
"want=$(sha256sum </tmp/d | cut -d' ' -f1)\n"				\
"got=$(head -c $((" #kib " * 1024)) " dev " | sha256sum | cut -d' ' -f1)\n" \
"echo \"dd want=$want got=$got\"\n"					\
"[ \"$want\" = \"$got\" ] || exit 12\n"

static const char brd_body[] =
"[ -b /dev/ram0 ] || exit 10\n"
RAMDISK_CHECK("/dev/ram0", 2048);

static const char null_blk_body[] =
"[ -d /sys/module/null_blk ] || exit 10\n"
"mount -t configfs none /sys/kernel/config 2>/dev/null\n"
"C=/sys/kernel/config/nullb/chariot_nullb\n"
"if [ -d $C ]; then echo 0 > $C/power; rmdir $C; fi\n"
"if mkdir $C 2>/dev/null && echo 1 > $C/memory_backed && echo 64 > $C/size &&\n"
"   echo 1 > $C/power; then\n"
"	dev=/dev/chariot_nullb\n"	/* 6.x: named after its configfs dir */
"	[ -b $dev ] || dev=/dev/nullb$(cat $C/index)\n"
"else\n"
"	echo 'chariot-campaign: no null_blk configfs: reloading it (fault lost)'\n"
"	rmmod null_blk; modprobe null_blk nr_devices=1 memory_backed=1 gb=1 || exit 10\n"
"	dev=/dev/nullb0\n"
"fi\n"
RAMDISK_CHECK("$dev", 512);

/* The test driver: loaded by the check (a reload by recovery is kept: an
 * insmod that finds recovery's reload under way fails "File exists", and
 * the check waits for that instance's trigger instead), its legal trigger,
 * then 256 KiB through its block device. */
static const char buggy_body[] =
"[ -d /sys/module/chariot_buggy ] ||\n"
"	insmod /lib/modules/chariot/chariot_buggy.ko ||\n"
"	[ -d /sys/module/chariot_buggy ] || exit 10\n"
"i=0\n"
"while [ ! -e /sys/kernel/debug/chariot_buggy/trigger ] && [ $i -lt 10 ]; do\n"
"	sleep 1; i=$((i + 1))\n"
"done\n"
"echo ok > /sys/kernel/debug/chariot_buggy/trigger || exit 11\n"
"dd if=/dev/urandom of=/tmp/d bs=4k count=64 2>/dev/null\n"
"[ -b /dev/chariot_buggy0 ] || exit 12\n"
"dd if=/tmp/d of=/dev/chariot_buggy0 bs=4k conv=fsync 2>/dev/null || exit 12\n"
"echo 3 > /proc/sys/vm/drop_caches\n"
"want=$(sha256sum </tmp/d | cut -d' ' -f1)\n"
"got=$(head -c 262144 /dev/chariot_buggy0 | sha256sum | cut -d' ' -f1)\n"
"echo \"dd want=$want got=$got\"\n"
"[ \"$want\" = \"$got\" ] || exit 13\n";

static const struct workload table[] = {
	{ "virtio_blk", "ext4 on /dev/vda: files summed, remounted, checked",
	  blk_body, 64, false, WORKLOAD_BLOCK_NATIVE_S },
	{ "virtio_net", "1 MiB over TCP across --net pair, summed both ends",
	  net_body, 0, true, WORKLOAD_NET_NATIVE_S },
	{ "brd", "2 MiB dd to /dev/ram0 (boot instance), read back past the cache, summed",
	  brd_body, 0, false, WORKLOAD_BLOCK_NATIVE_S },
	{ "null_blk", "512 KiB dd to a memory-backed null_blk made in configfs, read back, summed",
	  null_blk_body, 0, false, WORKLOAD_BLOCK_NATIVE_S },
	{ "chariot_buggy", "its ok trigger, 256 KiB dd through /dev/chariot_buggy0, summed",
	  buggy_body, 0, false, WORKLOAD_BLOCK_NATIVE_S },
};

const struct workload *workload_at(size_t i)
{
	return i < sizeof(table) / sizeof(table[0]) ? &table[i] : NULL;
}

const struct workload *workload_find(const char *driver)
{
	char name[64];
	size_t n = strlen(driver);

	if (!n || n >= sizeof(name))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		name[i] = driver[i] == '-' ? '_' : driver[i];
	for (size_t i = 0; workload_at(i); i++)
		if (!strcmp(table[i].driver, name))
			return &table[i];
	return NULL;
}

/* The check runs in a subshell (its `exit` ends one attempt). A failed
 * attempt is retried 5 s later, when a recovery (1-5 s in the nested test
 * host) has reloaded the driver. After the attempts, the kernel log's
 * failure lines are copied to the console, where the quiet loglevel would
 * have kept warnings from showing: only those from the monitor's load on
 * (its first "chariot_monitor: " line; the kernel command line, logged
 * first, names "chariot_monitor.watch="; init loads the monitor before
 * every driver), since the boot itself logs WARNINGs on some machines (the
 * nested test host's emulated CPU: an xstate size, the SRSO notice) that no
 * fault made. */
int workload_command(const struct workload *w, char *buf, size_t len)
{
	int n = snprintf(buf, len,
		"attempt() { (\n%s) ; }\n"
		"attempt; st=$?\n"
		"if [ $st -ne 0 ]; then\n"
		"	echo \"" WORKLOAD_RETRY_MARK " (status $st), retrying\"\n"
		"	sleep 5\n"
		"	attempt; st=$?\n"
		"fi\n"
		"dmesg >/tmp/kmsg\n"
		"grep -q 'chariot_monitor: ' /tmp/kmsg &&\n"
		"	sed -i -n '/chariot_monitor: /,$p' /tmp/kmsg\n"
		"grep -E 'Oops|BUG|general protection|soft lockup|"
		"WARNING:|blocked for more than|stall' /tmp/kmsg |\n"
		"	sed 's/^/" WORKLOAD_DMESG_MARK "/'\n"
		"echo \"" WORKLOAD_DONE_MARK "$st\"\n"
		"exit $st\n", w->body);

	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
