#!/usr/bin/env bash
# Fills DIR (default /tmp/sweepd-demo/uploads, the directory of
# conf.d/cleanup-orphaned-files.ini) with the sample uploads that
# scripts/sample-schema.sql lists in bazaar.uploaded_files, starting over:
#   avatars/*.png, projects/*.jpg   referenced by members and projects: kept
#   orphans/old-*.bin               40 days old, referenced by nothing: go
#   orphans/new-*.bin               1 day old: kept (too new)
#   stray.tmp                       40 days old, no row, referenced by
#                                   nothing: goes (a file without a row)
#   outside-link                    a symlink to a file outside DIR, which
#                                   must never be followed nor deleted
set -euo pipefail

dir=${1:-/tmp/sweepd-demo/uploads}
outside="$(dirname "$dir")/outside.txt"

rm -rf "$dir"
mkdir -p "$dir/avatars" "$dir/projects" "$dir/orphans"
for n in 10 20 30 40 50 60; do echo "avatar $n" >"$dir/avatars/$n.png"; done
for n in 5 10 15 20 25 30 35 40; do echo "image $n" >"$dir/projects/$n.jpg"; done
for n in 1 2 3 4 5; do echo "orphan $n" >"$dir/orphans/old-$n.bin"; done
for n in 1 2 3; do echo "recent $n" >"$dir/orphans/new-$n.bin"; done
echo "stray" >"$dir/stray.tmp"
echo "outside the upload directory: never touched" >"$outside"
touch -d '40 days ago' "$outside"
ln -s "$outside" "$dir/outside-link"
find "$dir" -type f -exec touch -d '40 days ago' {} +
touch -d '1 day ago' "$dir"/orphans/new-*.bin
