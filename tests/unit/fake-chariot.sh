#!/bin/sh
# fake-chariot.sh - stands in for `chariot run` in the campaign's tests
# (tests/unit/test_campaign.c): it writes a canned --json report whose
# outcome follows the --inject seed, so the campaign runner can be tested
# end to end without KVM.  seed % 4: 0 panic, 1 workload failed, 2 silent,
# 3 mutation not applied; isolated runs detect and reload when seed % 3 != 0.
# FAKE_SLEEP=SECS makes each run last that long (for the interrupt test);
# FAKE_REFUSE=1 makes it refuse its options as an older `chariot run` would.
# --cover: a coverage report (offsets 9, 0, 5; FAKE_COVER_NONE=1: none ran);
# --sites FILE: said on stdout, where the campaign keeps the run's console.
# FAKE_OTHER_SITE=1: isolated runs report another site than unprotected ones.
if [ -n "${FAKE_REFUSE:-}" ]; then
	echo "chariot run: unknown or incomplete option '--inject' (see chariot run --help)" >&2
	exit 2
fi
json= inject= isolate= cover=
[ "$1" = run ] && shift
while [ $# -gt 0 ]; do
	case $1 in
	--json) json=$2; shift ;;
	--inject) inject=$2; shift ;;
	--isolate) isolate=$2; shift ;;
	--cover) cover=$2; shift ;;
	--sites) echo "fake: --sites $2"; shift ;;
	--timeout|--disk|--net|--snapshot) shift ;;
	--) break ;;
	esac
	shift
done
[ -n "${FAKE_SLEEP:-}" ] && sleep "$FAKE_SLEEP"
if [ -n "$cover" ]; then
	sites='9, 0, 5'
	[ -n "${FAKE_COVER_NONE:-}" ] && sites=
	printf '{"end": "poweroff", "guest_status": 0, "inject": {"module": "%s", "applied": false, "cover": {"armed": 12, "ran": 3, "sites": [%s]}}}\n' "$cover" "$sites" >"$json"
	exit 0
fi
seed=${inject##*:}
end=poweroff status=0 applied=true faults='[]'
if [ -z "$inject" ]; then
	echo "chariot-campaign: workload status=0"
	printf '{"end": "poweroff", "guest_status": 0, "wall_ms": 5.0, "domains": [{"module": "%s", "loaded": true, "denied": 0}], "violations": []}\n' "$isolate" >"$json"
	exit 0
fi
case $((seed % 4)) in
0) end=panic status=null; echo "Kernel panic - not syncing: Fatal exception" ;;
1) status=11 ;;
3) applied=false ;;
esac
if [ -n "$isolate" ] && [ $((seed % 3)) != 0 ]; then
	end=poweroff status=0
	faults='[{"module": "m", "detected_by": "write", "unloaded": true, "reloaded": true, "service_restored": true}]'
fi
site=1
[ -n "$isolate" ] && [ -n "${FAKE_OTHER_SITE:-}" ] && site=2
printf '{"end": "%s", "guest_status": %s, "wall_ms": 7.5, "inject": {"module": "m", "type": "x", "seed": %s, "applied": %s, "error": %s, "site": %s, "nsites": 3, "what": "je -> jne", "activated": %s}, "faults": %s}\n' \
	"$end" "$status" "$seed" "$applied" \
	"$([ $applied = true ] && echo null || echo '"no site"')" "$site" "$applied" "$faults" >"$json"
