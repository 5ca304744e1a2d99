#!/usr/bin/env bash
# Draw every chart: plots/NAME.gp -> plots/NAME.svg and plots/NAME.png, from
# the data already in results/ (no benchmark is rerun). *.inc.gp files are
# shared includes, not charts. A chart whose "# data:" file is missing is
# skipped with a note, so one lab's missing results don't block the others.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

command -v gnuplot >/dev/null || { echo "plots: gnuplot not found; run make deps" >&2; exit 1; }
drawn=0 skipped=0
for gp in plots/*.gp; do
    case $gp in *.inc.gp) continue ;; esac
    name=${gp%.gp}
    data=$(sed -n 's/^# data: *//p' "$gp")
    missing=""
    for f in $data; do [ -f "$f" ] || missing="$missing $f"; done
    if [ -n "$missing" ]; then
        echo "plots: skip $gp (no$missing; run make bench)" >&2
        skipped=$((skipped + 1))
        continue
    fi
    for fmt in svg png; do
        gnuplot -e "fmt='$fmt'; out='$name.$fmt'" "$gp"
    done
    echo "plots: $name.svg $name.png" >&2
    drawn=$((drawn + 1))
done
echo "plots: $drawn drawn, $skipped skipped" >&2
