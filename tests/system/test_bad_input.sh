# Whole-system: bad input gets a clear message and exit code 2.
. tests/system/lib.sh

bad() {
	_bname=$1 _pattern=$2
	shift 2
	expect_status "$_bname: exit 2" 2 "$@"
	expect_grep "$_bname: says why" "$_pattern" "$T/err"
}

bad "unknown option" "unknown" $CHARIOT run --frobnicate -- true
bad "missing kernel" "No such file" $CHARIOT run --kernel /nonexistent -- true
printf 'garbage that is not a kernel' > "$T/bad-kernel"
bad "corrupt kernel" "not a Linux kernel" $CHARIOT run --kernel "$T/bad-kernel" -- true
head -c 1000 build/kernel/vmlinux > "$T/trunc-kernel"
bad "truncated kernel" "corrupt\|not a" $CHARIOT run --kernel "$T/trunc-kernel" -- true
bad "missing disk" "No such file" $CHARIOT run --disk /nonexistent.img -- true
head -c 1000 /dev/zero > "$T/odd-disk"
bad "disk not whole sectors" "multiple of 512" $CHARIOT run --disk "$T/odd-disk" -- true
bad "disk is a directory" "Is a directory" $CHARIOT run --disk "$T" -- true
bad "cpus 0" "cpus" $CHARIOT run --cpus 0 -- true
bad "cpus not a number" "cpus" $CHARIOT run --cpus two -- true
bad "memory beyond the host" "more than the host" $CHARIOT run --mem 100000000 -- true
bad "malformed net" "net" $CHARIOT run --net bogus -- true
bad "unknown command" "unknown command" $CHARIOT frob
expect_status "help exits 0" 0 $CHARIOT run --help
expect_grep "help documents exit codes" "124" "$T/out"

finish
