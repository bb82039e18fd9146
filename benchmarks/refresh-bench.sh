#!/usr/bin/env bash
# One command for the live-store benchmark (RefreshBench: requests per refresh, reads while refreshing): builds the benchmarks jar (the
# storage-s3 build also copies the S3Mock exec jar into storage-s3/target/s3-servers), starts
# S3Mock on a free loopback port as a child JVM, runs RefreshBench against it, and stops the
# server. Usage: bash benchmarks/refresh-bench.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
mvn -q -B -DskipTests -pl benchmarks -am package
mvn -q -B -pl storage-s3 process-test-resources
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
java -Xmx2g -XX:MaxDirectMemorySize=4g -Dio.netty.leakDetection.level=disabled \
  -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.RefreshBench \
  "http://127.0.0.1:$port" atlas any-key any-secret "$rounds"
