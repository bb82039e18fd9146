#!/usr/bin/env bash
# One command for the S3 throughput benchmark (S3Bench): builds the benchmarks jar (the
# storage-s3 build also copies the S3Mock exec jar into storage-s3/target/s3-servers), runs
# S3Bench against S3Mock (started by with-s3mock.sh) and against local files side by side.
# Usage: bash benchmarks/s3-bench.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
mvn -q -B -DskipTests -pl benchmarks -am package
mvn -q -B -pl storage-s3 process-test-resources
bash benchmarks/with-s3mock.sh bash -c 'java -Xmx2g -XX:MaxDirectMemorySize=4g -Dio.netty.leakDetection.level=disabled \
  -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.S3Bench "$S3_ENDPOINT" atlas any-key any-secret "$WORK/local" '"$runs"
