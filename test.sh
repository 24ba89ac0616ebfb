#!/usr/bin/env bash
# Runs every test: restores the npm test peers (OpenTelemetry JS exporters, s3rver), then the .NET suites.
set -euo pipefail
cd "$(dirname "$0")"

npm ci --prefix tests/interop/js --no-audit --no-fund --loglevel=error
npm ci --prefix tests/interop/s3 --no-audit --no-fund --loglevel=error
dotnet test TraceSeal.sln -c Release --logger "console;verbosity=minimal" "$@"
