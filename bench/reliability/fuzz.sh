#!/usr/bin/env bash
# Bounded mutation fuzz run over OtlpValidator (protobuf: traces, metrics, logs) and OtlpJson.TryToProtobuf.
#
# Builds bench/Fuzz (a console project outside TraceSeal.sln) and runs it for SECONDS, half the CPU time on
# each parser. Seeds: valid requests built with the generated classes (the unit tests' TestRequests plus a
# richer trace), and their OTLP/JSON. Each input is 1-3 stacked mutations: bit flips, byte sets, truncation,
# splicing with another seed, chunk insert/delete/duplicate, length-field edits (re-encoded or overlong
# varints), and for JSON also token edits (huge numbers, lone surrogates, invalid hex ids, type swaps, nesting
# up to 3000 levels, duplicate and renamed keys).
# Asserted per input: no exception escapes; refusals carry an error code; whatever the validator accepts,
# Google.Protobuf's generated parser parses too, with the same item count; TryToProtobuf's output parses;
# no input takes longer than CAP_MS (a watchdog ends the run on one still running after 10x CAP_MS).
# Prints inputs/s per parser and every distinct finding (the first input of each is kept in the findings
# directory, printed). Exit 1 when there is any finding, 3 on a hang.
#
# Usage: bench/reliability/fuzz.sh [SECONDS (60)]   Environment: SEED (random), CAP_MS (2000), FUZZ_ART
#   (/tmp/ts-art-fuzz), FINDINGS (a new directory under /tmp, kept). Bounded: SECONDS + 300 s (build included).
SECONDS_ARG=${1:-60}
[[ $SECONDS_ARG == -h || $SECONDS_ARG == --help ]] && { sed -n '2,17p' "$0"; exit 0; }
[[ $SECONDS_ARG =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2; }
RELI_MAX_SECONDS=$((SECONDS_ARG + 300))
source "$(dirname "$0")/lib.sh"

ART=${FUZZ_ART:-/tmp/ts-art-fuzz}
FINDINGS=${FINDINGS:-$(mktemp -d /tmp/traceseal-fuzz-findings.XXXXXX)}
echo "machine: $(nproc) cores, $(uname -sr); load average at start $(loadavg)"
say "building bench/Fuzz (Release) into $ART"
(cd "$RELI_ROOT" && dotnet build bench/Fuzz -c Release --artifacts-path "$ART" -v quiet -nologo >/dev/null)
seed_arg=(); [[ -n ${SEED:-} ]] && seed_arg=(--seed "$SEED")
rc=0
dotnet "$ART/bin/Fuzz/release/Fuzz.dll" --seconds "$SECONDS_ARG" --cap-ms "${CAP_MS:-2000}" --out "$FINDINGS" "${seed_arg[@]}" &
FUZZ_PID=$!
CHILDREN+=("$FUZZ_PID")
wait "$FUZZ_PID" || rc=$?
forget "$FUZZ_PID"
echo "load average at the end: $(loadavg) on $(nproc) CPUs"
case $rc in
  0) echo "PASS: no finding"; rmdir "$FINDINGS" 2>/dev/null || true ;;
  3) echo "FAIL: an input hung (kept in $FINDINGS)" ;;
  1) echo "FAIL: findings (inputs kept in $FINDINGS; SEED=<the seed above> repeats the run)" ;;
  *) echo "FAIL: the fuzzer itself failed (exit $rc)" ;;
esac
exit $rc
