#!/usr/bin/env bash
# Side by side on one CSV pair (DATA.md), one run after another, each under /usr/bin/time -v:
#   1. `doudi eval` (the CLI: reads the CSV pair, evaluates, writes CSV),
#   2. doudi's Python package: the pair read into pyarrow, then `Policy.evaluate` (steps timed apart),
#   3. the OpenFisca port (run.py: CSV read with pandas, simulation build, compute, CSV write).
# All three compute the same 17 household outputs for 2024-01; the outputs are then compared
# (compare.py) so that the timings are of the same answers.
#
#   benches/openfisca/measure.sh DIR
#
# Environment: DOUDI (the doudi binary; default target/release/doudi), DOUDI_PYTHON (a python with
# the doudi package and pyarrow; default python3), OF_PYTHON (a python with openfisca-core and
# pandas; default python3), PERIOD (default 2024-01), KEEP=1 to keep the outputs.
# Run it on a quiet machine: the numbers mean nothing while other builds share the cores.
set -euo pipefail

DIR=${1:?usage: measure.sh DIR (holding households.csv and persons.csv)}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DOUDI=${DOUDI:-$ROOT/target/release/doudi}
DOUDI_PYTHON=${DOUDI_PYTHON:-python3}
OF_PYTHON=${OF_PYTHON:-python3}
PERIOD=${PERIOD:-2024-01}
OUTPUTS=assets_ok,care_allowance,cash_benefit,centralised_care_cost,credit_ok,dibao_eligible,dibao_payment,expenditure_poor,grace_income_line,grace_period,gross_income,member_count,per_capita_income,priority_group,rigid_deductions,standard,total_benefit

TMP=$(mktemp -d)
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$TMP"' EXIT

# runs NAME CMD...: time -v into $TMP/NAME.time, the command's stderr (step lines) into $TMP/NAME.err
run() {
  local name=$1
  shift
  echo "== $name: $*" >&2
  if ! /usr/bin/time -v -o "$TMP/$name.time" "$@" 2>"$TMP/$name.err" >"$TMP/$name.stdout"; then
    cat "$TMP/$name.err" >&2
    exit 1
  fi
}

# field NAME KEY: one value of time -v's report
field() { grep -F "$2" "$TMP/$1.time" | sed 's/.*: //'; }

# wall clock h:mm:ss or m:ss.ss to seconds
seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f", s }'; }

# steps NAME: the `step seconds` lines a runner printed, as "step=1.23 step=4.56"
steps() { awk 'NF == 2 && $2 ~ /^[0-9.]+$/ { printf "%s%s=%s", sep, $1, $2; sep = " " }' "$TMP/$1.err"; }

run doudi_cli "$DOUDI" eval --policy "$ROOT/policies/jian" --data "$DIR" --period "$PERIOD" \
  --format csv --outputs "$OUTPUTS" --out "$TMP/doudi.csv"
run doudi_arrow "$DOUDI_PYTHON" "$HERE/doudi_arrow.py" --data "$DIR" --period "$PERIOD"
run openfisca "$OF_PYTHON" "$HERE/run.py" --data "$DIR" --period "$PERIOD" --out "$TMP/openfisca.csv"

echo
echo "$(wc -l <"$DIR/households.csv") lines in households.csv, $(wc -l <"$DIR/persons.csv") in persons.csv; $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-12s %9s %9s %9s %10s  %s\n' run wall_s user_s sys_s maxrss_MB steps_s
for name in doudi_cli doudi_arrow openfisca; do
  wall=$(field $name "Elapsed (wall clock)" | seconds)
  printf '%-12s %9s %9s %9s %10s  %s\n' "$name" "$wall" \
    "$(field $name "User time")" "$(field $name "System time")" \
    "$(( $(field $name "Maximum resident set size") / 1024 ))" "$(steps $name)"
done
# warm: a second evaluation in the same process (not under time -v; step times only)
"$DOUDI_PYTHON" "$HERE/doudi_arrow.py" --data "$DIR" --period "$PERIOD" --warm 2>"$TMP/doudi_arrow_warm.err" >/dev/null
"$OF_PYTHON" "$HERE/run.py" --data "$DIR" --period "$PERIOD" --out "$TMP/openfisca2.csv" --warm \
  2>"$TMP/openfisca_warm.err"
echo "warm, second pass in the same process:"
echo "  doudi_arrow: $(steps doudi_arrow_warm | tr ' ' '\n' | grep -E '^evaluate' | tr '\n' ' ')"
echo "  openfisca:   $(steps openfisca_warm | tr ' ' '\n' | grep -E '^(build|compute)' | tr '\n' ' ')"
echo
"$OF_PYTHON" "$HERE/compare.py" "$TMP/openfisca.csv" "$TMP/doudi.csv" | tail -1
[ "${KEEP:-}" = 1 ] && echo "outputs kept in $TMP"
exit 0
