# Whole-system: booting the default guest and running commands in it.
. tests/system/lib.sh

expect_status "command exit status comes back" 7 \
	$CHARIOT run --timeout 120 -- sh -c 'echo hello-from-guest; exit 7'
expect_grep "command output is streamed" '^hello-from-guest' "$T/out"

expect_status "arguments pass through quoted" 0 \
	$CHARIOT run --timeout 120 -- sh -c 'printf "[%s]\n" "$@"' x "a b" "it's" '$HOME'
expect_grep "argument with a space" '^\[a b\]' "$T/out"
expect_grep "argument with a quote" "^\[it's\]" "$T/out"
expect_grep "argument with a dollar" '^\[\$HOME\]' "$T/out"

expect_status "two CPUs" 0 $CHARIOT run --cpus 2 --timeout 120 -- \
	sh -c 'echo cpus=$(grep -c ^processor /proc/cpuinfo)'
expect_grep "guest sees 2 CPUs" '^cpus=2' "$T/out"

expect_status "guest mounts proc sys dev debugfs" 0 $CHARIOT run --timeout 120 -- \
	sh -c 'grep -q " /proc proc" /proc/mounts && grep -q " /sys sysfs" /proc/mounts &&
	       grep -q " /dev devtmpfs" /proc/mounts && grep -q debugfs /proc/mounts &&
	       [ "$(id -u 2>/dev/null || echo 0)" = 0 ]'

expect_status "run report" 0 $CHARIOT run --json "$T/r.json" --timeout 120 -- true
if [ "$(json_get "$T/r.json" 'r["end"]')" = poweroff ] &&
   [ "$(json_get "$T/r.json" 'r["guest_status"]')" = 0 ] &&
   [ "$(json_get "$T/r.json" 'r["boot_to_init_ms"] > 0')" = True ] &&
   [ "$(json_get "$T/r.json" 'r["exits"]["io"] > 0')" = True ] &&
   [ "$(json_get "$T/r.json" 'r["monitor"]["name"]')" = chariot_monitor ]; then
	pass "report has end, status, boot-to-init, exits, monitor"
else
	fail "report has end, status, boot-to-init, exits, monitor"
	sed 's/^/    /' "$T/r.json"
fi

expect_status "guest panic ends with 120" 120 $CHARIOT run --json "$T/p.json" \
	--timeout 120 -- sh -c 'echo c > /proc/sysrq-trigger'
[ "$(json_get "$T/p.json" 'r["end"]')" = panic ] && pass "report says panic" ||
	fail "report says panic"

expect_status "hung guest ends with 124 at --timeout" 124 $CHARIOT run \
	--json "$T/h.json" --timeout 20 -- sh -c 'while :; do :; done'
expect_grep "the timeout says where the vCPU was" \
	'^chariot: guest timed out: vCPU 0 at rip 0x[0-9a-f]\{1,16\}$' "$T/err"
[ "$(json_get "$T/h.json" 'r["end"]')" = timeout ] && pass "report says timeout" ||
	fail "report says timeout"
expect_grep "the timeout lists the busy vCPU's last exits" \
	"^chariot: vCPU 0's last exits, oldest first: " "$T/err"
[ "$(json_get "$T/h.json" 'r["last_exits"]["vcpu"]')" = 0 ] &&
	pass "report has the busy vCPU's last exits" ||
	fail "report has the busy vCPU's last exits"

expect_status "guest reset ends with 121" 121 $CHARIOT run --timeout 120 -- \
	sh -c 'echo b > /proc/sysrq-trigger'

# A triple fault (reboot=t: the kernel loads an empty IDT and raises
# int3): 121, and the vCPU's last exits on stderr and in the report (KVM
# on AMD resets the vCPU before it exits, so they are all that is left).
# The default command line (--help prints it) with reboot=t for reboot=k.
TF_APPEND=$($CHARIOT run --help | sed -n 's/^ *"\(console=.*\)"$/\1/p' |
	sed 's/reboot=k/reboot=t/')
case $TF_APPEND in
*reboot=t*) pass "the default command line read from --help" ;;
*) fail "the default command line read from --help" "$TF_APPEND" ;;
esac
expect_status "guest triple fault ends with 121" 121 $CHARIOT run \
	--append "$TF_APPEND" --json "$T/tf.json" --timeout 120 -- \
	sh -c 'echo b > /proc/sysrq-trigger'
expect_grep "the triple fault is named" \
	'^chariot: guest triple fault (shutdown): vCPU 0' "$T/err"
expect_grep "the vCPU's last exits are listed" \
	"^chariot: vCPU 0's last exits, oldest first: .*io w 0x" "$T/err"
if [ "$(json_get "$T/tf.json" 'r["last_exits"]["vcpu"]')" = 0 ] &&
   [ "$(json_get "$T/tf.json" 'len(r["last_exits"]["exits"].split(", "))')" -ge 2 ]; then
	pass "report has the last exits"
else
	fail "report has the last exits" "$(json_get "$T/tf.json" 'r["last_exits"]' 2>&1)"
fi

expect_status "guest power-off without a status ends with 0" 0 $CHARIOT run \
	--json "$T/o.json" --timeout 120 -- sh -c 'echo bye; poweroff -f; sleep 100'
[ "$(json_get "$T/o.json" 'r["end"]')" = poweroff ] && pass "report says poweroff" ||
	fail "report says poweroff"
[ "$(json_get "$T/o.json" 'r["last_exits"]')" = None ] &&
	pass "no last exits when the guest powers off" ||
	fail "no last exits when the guest powers off"

# The command's output is a byte stream: no \r added by the guest tty.
expect_status "output without CR" 0 $CHARIOT run --timeout 120 -- echo plain-line
expect_grep "lines end in LF only" '^plain-line$' "$T/out"

finish
