#!/usr/bin/env bash
# One command for the live-store benchmark (RefreshBench: requests per refresh, reads while
# refreshing): builds the benchmarks jar and runs RefreshBench against S3Mock (started by
# with-s3mock.sh). Usage: bash benchmarks/refresh-bench.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
mvn -q -B -DskipTests -pl benchmarks -am package
mvn -q -B -pl storage-s3 process-test-resources
bash benchmarks/with-s3mock.sh bash -c 'java -Xmx2g -XX:MaxDirectMemorySize=4g -Dio.netty.leakDetection.level=disabled \
  -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.RefreshBench "$S3_ENDPOINT" atlas any-key any-secret '"$rounds"
