# stats.awk: the order statistics every summarize*.awk takes, loaded first:
#   awk -F, -f scripts/stats.awk -f labs/NN-name/summarize.awk RAW > SUMMARY
# POSIX awk only (Debian's awk is mawk: no asort, so a small sort is here).

# sort(a, n): a[1..n] ascending, in place. Insertion sort: a group is one
# configuration's repetitions, a few dozen values at most. Equal values keep
# their order (a strict >), which cannot change a median, min or max.
function sort(a, n,   i, j, t) {
    for (i = 2; i <= n; i++) {
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]
        a[j + 1] = t
    }
}

# median(a, n) of a sorted a[1..n]: the middle value, or for an even n the
# mean of the two middle values.
function median(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
