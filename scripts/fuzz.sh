#!/usr/bin/env bash
# The fuzz campaign: builds the libFuzzer binaries (clang, ASan + UBSan, coverage on every object)
# in build-fuzz/ and runs the given targets ONE AT A TIME at the lowest priority, each for SECONDS
# (default 600), starting from the generated seeds (tests/fuzz/targets.cpp) plus the committed
# regression inputs. One input running over 60 s is reported as a hang (not 10 s: at nice 19 on a
# loaded 2-core machine a fuzzer was starved past 10 s on an input that takes milliseconds).
# A crashing input lands in build-fuzz/artifacts/<target>/; copy it to
# tests/fuzz/regressions/<target>/ once fixed, and the test suite replays it from then on.
#   scripts/fuzz.sh                         every target, 600 s each
#   SECONDS_PER_TARGET=60 scripts/fuzz.sh gguf safetensors
set -euo pipefail
cd "$(dirname "$0")/.."

TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(experiment tokenizer_encode tokenizer_vocab gguf safetensors hf_json)
SECS=${SECONDS_PER_TARGET:-600}
BUILD=${BUILD_DIR:-build-fuzz}

CC=clang CXX=clang++ cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DTRITBENCH_FUZZ=ON >/dev/null
cmake --build "$BUILD" -j "${JOBS:-2}" --target "${TARGETS[@]/#/fuzz_}"

found=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t" artifacts="$BUILD/artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  [ -d "tests/fuzz/regressions/$t" ] && cp -n tests/fuzz/regressions/"$t"/* "$corpus"/ 2>/dev/null || true
  echo "fuzz: $t for $SECS s (log: $BUILD/fuzz_$t.log)"
  rc=0
  TRITBENCH_FUZZ_WRITE_SEEDS="$corpus" nice -n 19 "$BUILD/fuzz_$t" "$corpus" \
    -max_total_time="$SECS" -timeout=60 \
    -artifact_prefix="$artifacts" -print_final_stats=1 >"$BUILD/fuzz_$t.log" 2>&1 || rc=$?
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$BUILD/fuzz_$t.log" | sed "s/^/  $t /" || true
  if [ $rc -ne 0 ]; then
    echo "fuzz: $t FOUND SOMETHING (exit $rc): see $BUILD/fuzz_$t.log and $artifacts"
    found=1
  fi
done
exit $found
