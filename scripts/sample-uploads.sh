#!/usr/bin/env bash
# Fills DIR (default /tmp/sweepd-demo/uploads, the directory of
# conf.d/cleanup-orphaned-files.ini) with the files of the records that
# scripts/sample-schema.sql lists in bazaar.uploaded_files, starting over.
# The job goes by the records (their created_at), never by these mtimes:
#   avatars/*.png, projects/*.jpg   referenced by members and projects: kept
#   orphans/old-*.bin               records 40 days old, referenced by
#                                   nothing: go with their records
#   orphans/touched-*.bin           the same, but touched yesterday: go
#   orphans/new-*.bin               40 days old, but their records are 1 day
#                                   old: kept
#   (orphans/gone-*.bin)            records whose file was never written:
#                                   the records go
#   outside-link                    a record's symlink to a file outside
#                                   DIR, which must never be followed nor
#                                   deleted
#   .gitkeep, exports/report-2026-10.csv, stray.tmp
#                                   40 days old, no record: never touched
set -euo pipefail

dir=${1:-/tmp/sweepd-demo/uploads}
outside="$(dirname "$dir")/outside.txt"

rm -rf "$dir"
mkdir -p "$dir/avatars" "$dir/projects" "$dir/orphans" "$dir/exports"
for n in 10 20 30 40 50 60; do echo "avatar $n" >"$dir/avatars/$n.png"; done
for n in 5 10 15 20 25 30 35 40; do echo "image $n" >"$dir/projects/$n.jpg"; done
for n in 1 2 3 4 5; do echo "orphan $n" >"$dir/orphans/old-$n.bin"; done
for n in 1 2; do echo "touched $n" >"$dir/orphans/touched-$n.bin"; done
for n in 1 2 3; do echo "recent $n" >"$dir/orphans/new-$n.bin"; done
: >"$dir/.gitkeep"
printf 'month,uploads\n2026-10,17\n' >"$dir/exports/report-2026-10.csv"
echo "stray" >"$dir/stray.tmp"
echo "outside the upload directory: never touched" >"$outside"
touch -d '40 days ago' "$outside"
ln -s "$outside" "$dir/outside-link"
find "$dir" -type f -exec touch -d '40 days ago' {} +
touch -d '1 day ago' "$dir"/orphans/touched-*.bin
