#!/usr/bin/env bash
# Seeds the fuzz corpus with every valid and invalid example message (named by content
# hash: examples of different versions share file names).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/corpus/validate"
find "$here/../tests/data" -name '*.json' | while read -r f; do
  cp "$f" "$here/corpus/validate/$(md5sum < "$f" | cut -c1-16)"
done
echo "seeded $(ls "$here/corpus/validate" | wc -l) inputs"
