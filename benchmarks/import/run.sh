#!/usr/bin/env bash
# The big-file import benchmark (issue 24): `atlas import` of a >= 2 GiB NetCDF-4 file with the
# JVM at -Xmx512m, side by side with `nccopy -k nc4` of the same file as the reference point.
#
# Usage: bash benchmarks/import/run.sh [DIR]     (default DIR /tmp/atlas-bigimport)
#   env GIB=3.0   GiB of data values when the file has to be generated (3.0: about 2.17 GiB on disk)
#       KEEP=1    keep nccopy's copy and the store afterwards (default: both deleted; big.nc is kept)
#
# Builds nothing: expects examples/target/atlas.jar, built with
#   flock /tmp/mvn.lock mvn -B -q -pl examples -am package -DskipTests
# Needs Debian's netcdf-bin (nccopy), python3-netcdf4 (with /usr/bin/python3) and time (/usr/bin/time).
#
# Steps: generate DIR/big.nc with make_big.py when absent; read it once into the page cache so
# both sides start warm; then (a) nccopy -k nc4 big.nc copy.nc, and `sync copy.nc` timed apart
# (the store fsyncs its files, nccopy does not); (b) java -Xmx512m ... import big.nc --store STORE.
# Each under /usr/bin/time -v (wall time, peak RSS, CPU). Peak heap of the JVM comes from its GC log
# (-Xlog:gc,gc+heap+exit): peak used = the largest occupancy before a collection or at exit
# (everything allocated and not yet collected, garbage included: heap used only grows between
# collections, so this is its true peak), and the largest occupancy after a collection (what
# stayed live). Throughput = bytes of all variables' values at
# their netCDF shapes (uncompressed) / wall time, in MB/s (10^6 bytes). Last, check_big.py reads
# slabs back through `atlas cat` and compares them with the generator's formulas, the
# never-written variable included (it must read as fill).
# Everything is printed and written to DIR/summary.txt; the raw outputs stay in DIR.
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
here="$root/benchmarks/import"
jar="$root/examples/target/atlas.jar"
py=/usr/bin/python3
dir="${1:-/tmp/atlas-bigimport}"
big="$dir/big.nc"
copy="$dir/copy.nc"
store="$dir/store"
gib="${GIB:-3.0}"

die() { echo "run.sh: $*" >&2; exit 2; }
[ -f "$jar" ] || die "no $jar; build it first: flock /tmp/mvn.lock mvn -B -q -pl examples -am package -DskipTests"
[ -x /usr/bin/time ] || die "no /usr/bin/time (apt-get install -y time)"
command -v nccopy >/dev/null || die "no nccopy (apt-get install -y netcdf-bin)"
"$py" -c 'import netCDF4' 2>/dev/null || die "$py has no netCDF4 (apt-get install -y python3-netcdf4)"
mkdir -p "$dir"

if [ ! -f "$big" ]; then
  "$py" "$here/make_big.py" "$big.part" --gib "$gib" || die "make_big.py failed"
  mv "$big.part" "$big"
fi
read -r value_bytes data_bytes steps < <("$py" "$here/check_big.py" sizes "$big") || die "cannot read $big"
file_bytes=$(stat -c %s "$big")
need=$((file_bytes * 2 + (1 << 30)))
avail=$(($(df -B1 --output=avail "$dir" | tail -1)))
[ "$avail" -gt "$need" ] || die "need about $need bytes free in $dir for the copy and the store, have $avail"

rm -rf "$copy" "$store"
load=$(cut -d' ' -f1-3 /proc/loadavg)
cat "$big" > /dev/null   # page cache: both sides read a warm file

# (a) the reference point: the same bytes read, a netCDF-4 file written (filters and chunking kept)
/usr/bin/time -v -o "$dir/nccopy.time" nccopy -k nc4 "$big" "$copy"
nccopy_rc=$?
s0=$(date +%s.%N); sync "$copy"; s1=$(date +%s.%N)
sync_s=$(printf %.2f "$(echo "$s1 - $s0" | bc -l)")
copy_bytes=$(stat -c %s "$copy" 2>/dev/null || echo 0)

# (b) the import under test
/usr/bin/time -v -o "$dir/java.time" java -Xmx512m -XX:MaxDirectMemorySize=1g \
  "-Xlog:gc,gc+heap+exit:file=$dir/gc.log" \
  -jar "$jar" import "$big" --store "$store" --progress > "$dir/import.out" 2> "$dir/import.err"
java_rc=$?
store_bytes=$(du -sb "$store" 2>/dev/null | cut -f1)

# the check (also when the import failed: it then reports what is, or is not, visible)
"$py" "$here/check_big.py" verify "$big" "$jar" "$store" > "$dir/check.out" 2>&1
check_rc=$?

wall() {  # seconds from /usr/bin/time -v's "h:mm:ss" or "m:ss.ss"
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$1"
}
field() { awk -F': ' -v k="$2" 'index($0, k) {print $2}' "$1"; }
mbps() { echo "scale=1; $1 / $2 / 1000000" | bc -l; }

nc_wall=$(wall "$dir/nccopy.time")
j_wall=$(wall "$dir/java.time")
# G1 lines: "... GC(3) Pause Young (Normal) (G1 Evacuation Pause) 120M->30M(512M) 12.345ms"
read -r heap_before heap_after gcs < <(awk '
  match($0, /[0-9]+M->[0-9]+M\([0-9]+M\)/) {
    s = substr($0, RSTART, RLENGTH); split(s, p, /M->|M\(|M\)/);
    if (p[1] + 0 > b) b = p[1] + 0; if (p[2] + 0 > a) a = p[2] + 0; n++ }
  END { printf "%d %d %d\n", b, a, n }' "$dir/gc.log")
heap_exit_k=$(grep -o 'used [0-9]*K' "$dir/gc.log" | head -1 | tr -dc 0-9)
heap_exit=$(( ${heap_exit_k:-0} / 1024 ))
heap_peak=$(( heap_exit > heap_before ? heap_exit : heap_before ))

{
  echo "# big-file import benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$root" rev-parse --short HEAD 2>/dev/null)"
  echo "machine       $(nproc) CPUs, load average before the runs: $load"
  echo "file          $big: $file_bytes bytes on disk, $steps time steps"
  echo "values        $value_bytes bytes at netCDF shapes (data variables $data_bytes)"
  echo "nccopy        -k nc4: exit $nccopy_rc, wall ${nc_wall} s ($(mbps "$value_bytes" "$nc_wall") MB/s), peak RSS $(field "$dir/nccopy.time" 'Maximum resident set size') KiB," \
       "CPU $(field "$dir/nccopy.time" 'User time') user + $(field "$dir/nccopy.time" 'System time') sys s; then sync of the copy ${sync_s} s;" \
       "copy $copy_bytes bytes"
  echo "atlas import  -Xmx512m: exit $java_rc, wall ${j_wall} s ($(mbps "$value_bytes" "$j_wall") MB/s), peak RSS $(field "$dir/java.time" 'Maximum resident set size') KiB," \
       "CPU $(field "$dir/java.time" 'User time') user + $(field "$dir/java.time" 'System time') sys s; store ${store_bytes:-0} bytes"
  echo "JVM heap      peak used ${heap_peak} MiB (the larger of: most before a GC ${heap_before} MiB, at exit ${heap_exit} MiB);" \
       "most live after a GC ${heap_after} MiB; ${gcs} GCs (gc.log)"
  echo "import says   $(tr '\r' '\n' < "$dir/import.out" | grep -v '^$' | tail -1)"
  if [ "$java_rc" -ne 0 ]; then
    echo "import stderr (last lines):"
    tr '\r' '\n' < "$dir/import.err" | grep -v '^import \[' | tail -5 | sed 's/^/  /'
  fi
  echo "check         exit $check_rc: $(tail -1 "$dir/check.out")"
  grep -v '^ok ' "$dir/check.out" | grep -v '^check:' | head -5 | sed 's/^/  /'
} | tee "$dir/summary.txt"

if [ "${KEEP:-0}" != 1 ]; then
  rm -rf "$copy" "$store"
fi
echo "run.sh: outputs in $dir (big.nc kept for re-runs; rm -rf $dir to free ${file_bytes} bytes)"
[ "$java_rc" -eq 0 ] && [ "$check_rc" -eq 0 ]
