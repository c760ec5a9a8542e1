#!/usr/bin/env bash
# Builds the counter benchmark with -O from the metrics sources it measures, and runs it.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
m=Sources/ZestTelemetry/Metrics
swiftc -O -wmo -parse-as-library -module-name CounterBench Benchmarks/telemetry/CounterBench.swift \
    "$m/TrafficMetrics.swift" "$m/TrafficLabels.swift" "$m/PrometheusText.swift" -o "$out/counter-bench"
"$out/counter-bench"
