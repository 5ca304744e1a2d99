#!/usr/bin/env bash
# skels.sh [NN ...]: write students/NN-name/, a copy of each lab with its
# exercises cut out (`make skels`; default: every lab that has one).
#
# An exercise is marked in the lab's own source, so the reference is the
# solution and the two cannot drift apart:
#
#     /* EXERCISE 3: take the lock around the read-modify-write */
#     line 1 of the solution
#     line 2
#     line 3
#
# The number says how many lines follow that the student must write; the
# skeleton keeps the comment (as "EXERCISE ... TODO") and drops those lines.
# A comment may go on over several lines; a last line `instead: CODE` gives
# what the skeleton puts in their place so that it still builds:
#
#     /* EXERCISE 2: return Python's exit code for this wait status
#      * instead: return 0; */
#
# A skeleton builds, runs, and fails its lab's checks until the exercise is
# written; `make grade LAB=NN` runs them.  An existing students/NN-name/ is
# never overwritten (it holds a student's work): remove it, or FORCE=1.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."

# cut FILE: the file with every exercise cut out, on stdout.  A marker whose
# count runs past the end of the file, or past another marker, is an error:
# a wrong count would cut the wrong lines silently.
cut_exercises() {
    awk -v file="$1" '
        function fail(why) { printf "skels: %s:%d: %s\n", file, FNR, why > "/dev/stderr"; failed = 1; exit 1 }
        skip > 0 {
            if ($0 ~ /EXERCISE [0-9]+:/) fail("an exercise inside another one")
            skip--; next
        }
        incomment {
            text = $0
            if (text ~ /instead:/) {
                instead = text; sub(/.*instead:[ ]*/, "", instead); sub(/[ ]*\*\/.*$/, "", instead)
                if (text ~ /\*\//) print indent " */"   # the comment still ends
            } else print
            if (text ~ /\*\//) { incomment = 0; emit() }
            next
        }
        /\/\* EXERCISE [0-9]+:/ {
            line = $0; count = line; sub(/.*EXERCISE /, "", count); sub(/:.*/, "", count)
            indent = line; sub(/[^ ].*$/, "", indent)
            instead = ""; marker_line = FNR
            shown = line; sub(/EXERCISE [0-9]+:/, "EXERCISE (TODO, " count " line" (count == 1 ? "" : "s") " in the solution):", shown)
            if (line ~ /\*\//) { print shown; emit(); next }
            print shown; incomment = 1; next
        }
        { print }
        function emit() {
            if (instead != "") print indent instead
            skip = count + 0
            exercises++
        }
        END {
            if (failed) exit 1
            if (incomment) fail("the exercise comment never ends")
            if (skip > 0) fail("the exercise at line " marker_line " wants " count " lines; the file ends first")
        }
    ' "$1"
}

force=${FORCE:-0}
labs=("$@")
if [ ${#labs[@]} -eq 0 ]; then
    for dir in labs/[0-9]*-*/; do
        grep -qs 'EXERCISE [0-9]*:' "$dir"*.c "$dir"*.h && labs+=("$(basename "$dir" | cut -d- -f1)")
    done
fi
[ ${#labs[@]} -gt 0 ] || { echo "skels: no lab has an exercise marked" >&2; exit 1; }

for number in "${labs[@]}"; do
    dir=$(ls -d labs/"$number"-*/ 2>/dev/null | head -1)
    [ -n "$dir" ] || { echo "skels: no lab numbered '$number' (expected e.g. 04)" >&2; exit 2; }
    name=$(basename "$dir")
    out=${STUDENTS_DIR:-students}/$name
    if [ -e "$out" ] && [ "$force" != 1 ]; then
        echo "skels: $out exists (your work?): left alone; remove it or FORCE=1 to rewrite it" >&2
        continue
    fi
    grep -qs 'EXERCISE [0-9]*:' "$dir"*.c "$dir"*.h || { echo "skels: $name has no exercise marked" >&2; exit 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    total=0
    for file in "$dir"*; do
        [ -f "$file" ] || continue
        case $file in
            *.c | *.h) cut_exercises "$file" > "$tmp/$(basename "$file")"
                       n=$(grep -c 'EXERCISE (TODO' "$tmp/$(basename "$file")" || true)
                       total=$((total + n)) ;;
            *) cp "$file" "$tmp/" ;;
        esac
    done
    mkdir -p "${STUDENTS_DIR:-students}"
    rm -rf "$out"
    mv "$tmp" "$out"
    trap - EXIT
    echo "skels: $out: $total exercise$([ "$total" = 1 ] || echo s) to write; then: make grade LAB=$number" >&2
done
