#!/usr/bin/env bash
# Sets up everything, builds the library and runs the demo sandbox.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" --target whvemu-demo
./build/examples/whvemu-demo "$@"
