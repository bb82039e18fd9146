#!/usr/bin/env bash
# Starts S3Mock (the jar the storage-s3 build copies into storage-s3/target/s3-servers) on a free
# loopback port as a child JVM with a bucket "atlas", runs the given command with S3_ENDPOINT and
# WORK (a scratch directory) exported, and stops the server afterwards. Used by s3-bench.sh and
# refresh-bench.sh. Usage: bash benchmarks/with-s3mock.sh COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
jar=storage-s3/target/s3-servers/s3mock.jar
work="$(mktemp -d /tmp/atlas-s3bench.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
mgmt="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
java -Xmx1g -XX:+UseParallelGC -jar "$jar" --http.port="$port" --server.port="$mgmt" --server.address=127.0.0.1 \
  --com.adobe.testing.s3mock.store.initial-buckets=atlas --com.adobe.testing.s3mock.store.root="$work/s3" \
  --com.adobe.testing.s3mock.store.retain-files-on-exit=false --com.adobe.testing.s3mock.max-payload-size=256MB \
  --spring.main.banner-mode=off > "$work/s3mock.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then break; fi
  sleep 0.5
done
export S3_ENDPOINT="http://127.0.0.1:$port" WORK="$work"
"$@"
