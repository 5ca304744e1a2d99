/* tickets.c: selling tickets -- the race, the lock, and a buyer killed
 * inside the lock (E9, E12).  This file: the flags, one trial and its check,
 * the narration, main.  The lesson itself is buyer.c.
 *
 * The experiment.  The documents keep {"count": 1} in db.txt.  Each of 20
 * buyer processes first looks at the count (search), then buys (get): reads
 * it, waits 0.1 s, and if it is positive decrements it, waits 0.2 s and
 * writes it back.  Many buyers "get" the one ticket: they read 1 before
 * anyone wrote 0.  The documents' slide is titled "Lock" and imports Lock,
 * but never uses it: they show no locked version and no output of one.
 *
 * This program does the same with a choice of store, lock and workers:
 *   --store file   the documents' db.txt, in a private temporary directory
 *   --store shm    a record in shared memory
 *   --lock none    BUGGY ON PURPOSE: the read-modify-write race
 *   --lock mutex   a robust, process-shared pthread mutex
 *   --lock file    an fcntl lock on a lock file (kernel-released on death)
 *   --lock naive   a semaphore, which is what Python's multiprocessing.Lock is
 *   --mode process|thread
 * and, beyond the documents, --kill-holder kills a buyer inside its critical
 * section (crash.c).
 *
 * Run:    build/bin/tickets                         (the race: oversold)
 *         build/bin/tickets --lock mutex            (correct, and slower)
 *         build/bin/tickets --lock mutex --kill-holder --store shm
 *         build/bin/tickets --lock naive --kill-holder --timeout 3
 *         build/bin/tickets --quiz --seed 3          (predict, then --answer)
 * Notice: in which order the buyers read the stock, and how many read it
 *         before the first write-back; with a lock, elapsed = buyers x read
 *         delay + sales x write delay.
 */
#define _GNU_SOURCE
#include "tickets.h"

#include "checked.h"
#include "cleanup.h"
#include "flags.h"
#include "proc.h"
#include "quiz.h"
#include "timing.h"
#include "watchdog.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---- One trial: a fresh stock, every buyer once, then the checks -------- */

struct outcome {
    int sold;       /* surviving buyers who believe they bought */
    int64_t left;   /* tickets left in the store */
    int recorded;   /* sales in the store's list of buyers */
    int oversold;
    int killed;     /* the victim, dead as planned, or -1 */
    int failed;     /* a buyer that ended any other way, or -1 */
    int failures;   /* how many did */
    int failed_status;
    int readers;    /* buyers that read the stock */
    int early;      /* ... before the first write-back */
    int first_writer; /* whose write-back was first, or -1 */
    double start_span;  /* first buyer's start to the last one's, seconds */
    double first_write; /* first buyer's start to the first write-back */
    int late_starters;  /* buyers that started after the first write-back */
    bool correct;   /* the store and the buyers agree */
    double seconds;
};

static void reset(const struct setup *s, uint64_t *rng, bool kill_holder,
                  int victim_rank, int kill_point)
{
    struct shared *sh = s->shared;
    store_reset(s);
    lock_reset(s);
    crash_choose(s, rng, kill_holder, victim_rank, kill_point);
    atomic_store(&sh->events, 0);
    memset(sh->record, 0, (size_t)s->buyers * sizeof sh->record[0]);
}

static struct outcome check_trial(const struct setup *s,
                                  const struct worker_run *run)
{
    const struct shared *sh = s->shared;
    struct outcome o = {.killed = -1, .failed = -1, .first_writer = -1,
                        .seconds = run->seconds};
    struct store final;
    store_read(s, &final); /* after crash_audit(): repaired if need be */
    o.left = final.left;
    o.recorded = final.sold;

    int victim = atomic_load(&sh->victim);
    bool claims_match = true;
    double first_start = 0, last_start = 0, first_write = 0;
    int first_write_order = 0;
    for (int i = 0; i < run->count; i++) {
        const struct worker *w = &run->workers[i];
        const struct buyer_record *r = &sh->record[i];
        if (i == 0 || w->started < first_start)
            first_start = w->started;
        if (i == 0 || w->started > last_start)
            last_start = w->started;
        if (r->write_order > 0 &&
            (first_write_order == 0 || r->write_order < first_write_order)) {
            first_write_order = r->write_order;
            first_write = r->wrote_at;
            o.first_writer = i;
        }
        o.readers += r->read_order > 0;
        if (w->status != 0) {
            if (i == victim && w->status == -SIGKILL &&
                atomic_load(&sh->victim_dies)) {
                o.killed = i; /* it never said; the store's list speaks */
            } else if (o.failures++ == 0) {
                o.failed = i;
                o.failed_status = w->status;
            }
            continue;
        }
        bool in_list = false;
        for (int k = 0; k < final.sold; k++)
            in_list |= final.buyers[k] == i;
        o.sold += w->result == 1;
        claims_match &= (w->result == 1) == in_list;
    }
    /* Nobody writes the count back as the whole stock again: the first
     * write-back, by a buyer who read the whole stock, leaves one less, and
     * every later one leaves less than it read.  So a buyer who read the
     * whole stock read it before the first write-back (exactly, where the
     * order numbers could be a few nanoseconds off). */
    for (int i = 0; i < run->count; i++) {
        const struct buyer_record *r = &sh->record[i];
        o.early += r->read_order > 0 && r->read == s->stock;
        o.late_starters += first_write_order > 0 &&
                           run->workers[i].started > first_write;
    }
    o.start_span = last_start - first_start;
    o.first_write = first_write_order > 0 ? first_write - first_start : -1;
    o.oversold = o.sold > s->stock ? o.sold - (int)s->stock : 0;
    o.correct = o.failures == 0 && !atomic_load(&sh->torn) &&
                o.oversold == 0 && claims_match &&
                o.recorded + o.left == s->stock;
    return o;
}

/* ---- The lab's rules -------------------------------------------------------- */

/* With a lock the buyers go one at a time: each holds the lock for the read
 * delay, and one who buys (or dies in the middle of its write) for the write
 * delay too.  The narration checks a run with it; --answer predicts with it. */
static double serial_ms(int readers, int writers, double read_ms,
                        double write_ms)
{
    return readers * read_ms + writers * write_ms;
}

/* ---- Narration ------------------------------------------------------------ */

static const char *const store_names[] = {"file", "shm", NULL};
static const char *const lock_names[] = {"none", "mutex", "file", "naive", NULL};
static const char *const mode_names[] = {"process", "thread", NULL};

static const struct setup *sorting; /* for by_read_order */

/* Without a lock: those who read before the first write-back (the whole
 * stock), then the others. */
static int read_group(int buyer)
{
    const struct buyer_record *r = &sorting->shared->record[buyer];
    if (r->read_order == 0)
        return 2; /* never read */
    return sorting->lock == LOCK_NONE && r->read != sorting->stock;
}

/* In the order the buyers read the stock (with a lock: took it); those that
 * never read come last. */
static int by_read_order(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    int gi = read_group(i), gj = read_group(j);
    int ri = sorting->shared->record[i].read_order;
    int rj = sorting->shared->record[j].read_order;
    if (gi != gj)
        return gi - gj;
    return ri != rj ? (ri > rj) - (ri < rj) : (i > j) - (i < j);
}

static void narrate_buyers(const struct setup *s, const struct worker_run *run,
                           const struct outcome *o)
{
    const struct shared *sh = s->shared;
    int order[MAX_BUYERS];
    for (int i = 0; i < run->count; i++)
        order[i] = i;
    sorting = s;
    qsort(order, (size_t)run->count, sizeof order[0], by_read_order);
    printf("  in the order they %s the stock:\n",
           s->lock == LOCK_NONE ? "read" : "took the lock and read");
    bool marked = false;
    for (int k = 0; k < run->count; k++) {
        int i = order[k];
        const struct worker *w = &run->workers[i];
        const struct buyer_record *r = &sh->record[i];
        if (s->lock == LOCK_NONE && !marked && o->first_writer >= 0 &&
            read_group(i) == 1) {
            printf("  -- here buyer-%d wrote the stock back; the buyers "
                   "below read after it --\n", o->first_writer);
            marked = true;
        }
        char searched[32] = "";
        if (r->read_order > 0 || w->status == 0)
            snprintf(searched, sizeof searched, "searched %" PRId64 ", ",
                     r->searched);
        if (w->status != 0) {
            char how[64];
            proc_describe_exitcode(w->status, how, sizeof how);
            if (i == o->killed)
                printf("  buyer-%-3d pid %-7d %s%s, inside the lock (%s)\n", i,
                       (int)w->pid, searched, how,
                       kill_point_texts[atomic_load(&sh->kill_point)]);
            else
                printf("  buyer-%-3d pid %-7d %s: FAILED (not a planned "
                       "kill)\n", i, (int)w->pid, how);
        } else {
            printf("  buyer-%-3d pid %-7d %sread %-4" PRId64 " %s\n", i,
                   (int)w->pid, searched, r->read,
                   w->result ? "-> bought a ticket" : "-> none left");
        }
    }
}

static void narrate(const struct setup *s, const struct worker_run *run,
                    const struct outcome *o, double read_ms, double write_ms)
{
    if (run->count <= 40)
        narrate_buyers(s, run, o);
    if (s->shared->repair[0])
        printf("  REPAIRED: %s.\n", s->shared->repair);
    if (o->killed >= 0 && s->lock == LOCK_FILE)
        printf("  buyer-%d died holding the file lock; the kernel released "
               "the lock with its\n  last descriptor, and db.txt was whole "
               "(writes are atomic renames).\n", o->killed);
    if (o->killed >= 0 && o->recorded + o->left == s->stock &&
        o->recorded > o->sold)
        printf("  The store records %d sale%s but %d surviving buyer%s: "
               "buyer-%d bought, then died\n  before it could say so.  "
               "Counted from the store's list of buyers.\n",
               o->recorded, o->recorded == 1 ? "" : "s", o->sold,
               o->sold == 1 ? "" : "s", o->killed);
    if (s->lock == LOCK_NONE && o->first_write >= 0) {
        char span[32], first[32];
        duration_text(o->start_span, span, sizeof span);
        duration_text(o->first_write, first, sizeof first);
        printf("  the buyers started within %s; the first write-back came "
               "%s after the first\n  start: %d of %d buyers started after "
               "it, %d of %d read the stock before it\n",
               span, first, o->late_starters, run->count, o->early,
               o->readers);
    }

    char took[32];
    duration_text(o->seconds, took, sizeof took);
    printf("  sold %d, left %" PRId64 ", stock %" PRId64 ": ", o->sold, o->left,
           s->stock);
    if (o->failures > 0)
        printf("FAILED: %d buyer%s ended without finishing (see above)\n",
               o->failures, o->failures == 1 ? "" : "s");
    else if (o->oversold > 0 && s->lock == LOCK_NONE && o->early == run->count)
        printf("OVERSOLD by %d -- the race: they all read the stock before "
               "anyone wrote it back\n", o->oversold);
    else if (o->oversold > 0 && s->lock == LOCK_NONE)
        printf("OVERSOLD by %d -- the race: %d of %d read the stock before "
               "the first write-back\n", o->oversold, o->early, run->count);
    else if (o->oversold > 0)
        printf("OVERSOLD by %d\n", o->oversold);
    else if (s->lock == LOCK_NONE && o->sold + o->left > s->stock)
        printf("LOST UPDATES: %d buyers hold tickets, yet the store counts "
               "%" PRId64 " left;\n  %" PRId64 " sale%s overwritten by other "
               "buyers' write-backs -- the same race\n", o->sold, o->left,
               o->sold + o->left - s->stock,
               o->sold + o->left - s->stock == 1 ? " was" : "s were");
    else
        printf("%s\n", o->correct ? "correct" : "WRONG (see above)");
    if (o->failures > 0) {
        return; /* the buyers did not all do their part: no timing claim */
    } else if (s->lock == LOCK_NONE) {
        printf("  elapsed %s: the buyers overlapped (one alone takes %g ms, "
               "or %g + %g ms if it buys)\n", took, read_ms, read_ms,
               write_ms);
    } else {
        /* Who waited the write delay: those who wrote back, and a victim
         * killed in the middle of its write. */
        int writers = o->killed >= 0 &&
                      atomic_load(&s->shared->kill_point) == KILL_MID_WRITE;
        for (int i = 0; i < run->count; i++)
            writers += s->shared->record[i].write_order > 0;
        char expected[32];
        duration_text(serial_ms(o->readers, writers, read_ms, write_ms) / 1000,
                      expected, sizeof expected);
        printf("  elapsed %s: one buyer at a time, %d x %g ms reading + %d x "
               "%g ms writing = %s\n", took, o->readers, read_ms, writers,
               write_ms, expected);
    }
}

/* The line after --trials K: what the trials show, from their numbers. */
static void summarize_trials(const struct setup *s, const int *oversold,
                             const int *early, int trials)
{
    double *values = xcalloc((size_t)trials, sizeof *values);
    int all_early = 0, fewest = s->buyers;
    for (int t = 0; t < trials; t++) {
        values[t] = oversold[t];
        all_early += early[t] == s->buyers;
        fewest = early[t] < fewest ? early[t] : fewest;
    }
    struct stats st = stats_of(values, trials);
    free(values);
    printf("oversold over %d trials: min %g, median %g, max %g", trials,
           st.min, st.median, st.max);
    if (s->lock != LOCK_NONE) {
        printf("\n");
        return;
    }
    printf(st.min == st.max ? ": the same in every trial\n"
                            : ": it varied from trial to trial\n");
    if (all_early == trials)
        printf("  in every trial, all %d buyers read the stock before the "
               "first write-back\n", s->buyers);
    else
        printf("  in %d of %d trials, some buyers read the stock after the "
               "first write-back\n  (as few as %d of %d read before it): "
               "they started too late to race\n", trials - all_early, trials,
               fewest, s->buyers);
}

/* ---- Predict, then check (--quiz, --answer) -------------------------------- */

/* What the lab's rules say one sale of this setup gives.  With a lock, or
 * with nothing to sell, one answer.  Without a lock, bounds, and the one
 * case the early/late analysis settles: every buyer reads the stock before
 * the first write-back.  Why the bounds hold (ANSWERS.md has the longer
 * version):
 *   - sold >= min(stock, buyers): a buyer who reads 0 read what a buyer who
 *     read 1 wrote, who read what a buyer who read 2 wrote, ... down to the
 *     stock: that chain is `stock` distinct sales;
 *   - left <= stock - 1 once anyone wrote (each write-back writes what it
 *     read, less one), and left >= stock - sold (each write-back takes at
 *     most one off what the store held);
 *   - every buyer who read the whole stock buys, and with one ticket only
 *     they do (after the first write-back the store holds 0 for good). */
struct prediction {
    bool serial;                   /* a lock: one buyer at a time */
    int sold_low, sold_high;
    int64_t left_low, left_high;
    double elapsed_ms;             /* serial: the sum; else a lower bound */
    int all_sold;                  /* no lock, if every buyer reads first */
    int64_t all_left;
};

static int oversold_of(int sold, int64_t stock)
{
    return sold > stock ? sold - (int)stock : 0;
}

static struct prediction predict(const struct setup *s, double read_ms,
                                 double write_ms)
{
    int n = s->buyers;
    int sales = s->stock < n ? (int)s->stock : n;
    struct prediction p = {.serial = s->lock != LOCK_NONE};
    if (p.serial || s->stock == 0) {
        p.sold_low = p.sold_high = sales;
        p.left_low = p.left_high = s->stock - sales;
        /* Without a lock and without stock, they overlap: one read delay. */
        p.elapsed_ms = p.serial ? serial_ms(n, sales, read_ms, write_ms)
                                : read_ms;
        return p;
    }
    p.sold_low = sales;
    p.sold_high = n;
    p.left_low = s->stock - n > 0 ? s->stock - n : 0;
    p.left_high = s->stock - 1;
    p.all_sold = n;
    p.all_left = s->stock - 1;
    p.elapsed_ms = read_ms + write_ms; /* the first buyer, who buys */
    return p;
}

/* Without a lock, after the run: what its count of early readers settles. */
static struct prediction refine(struct prediction p, const struct setup *s,
                                int early)
{
    if (p.serial || s->stock == 0)
        return p;
    if (early == s->buyers) {
        p.sold_low = p.sold_high = p.all_sold;
        p.left_low = p.left_high = p.all_left;
        return p;
    }
    if (early > p.sold_low)
        p.sold_low = early; /* each of them read the whole stock, and bought */
    if (s->stock == 1)
        p.sold_high = early; /* the others read 0 */
    return p;
}

static void range_text(int64_t low, int64_t high, char *out, size_t size)
{
    if (low == high)
        snprintf(out, size, "%" PRId64, low);
    else
        snprintf(out, size, "between %" PRId64 " and %" PRId64, low, high);
}

static void print_problem(const struct setup *s, const struct quiz *quiz,
                          int mode, double read_ms, double write_ms)
{
    printf("tickets %s", quiz->quiz ? "quiz" : "answer");
    if (quiz->seeded)
        printf(" (seed %" PRIu64 ")", quiz->seed);
    printf(": %d buyer %s, %" PRId64 " ticket%s, store %s, lock %s.\n",
           s->buyers, mode == 0 ? "processes" : "threads", s->stock,
           s->stock == 1 ? "" : "s",
           s->store == STORE_FILE ? "file" : "shm", lock_names[s->lock]);
    printf("  Each buyer %s, reads the stock, waits %g ms; if a ticket is "
           "left,\n  it takes one, waits %g ms and writes the stock back%s.\n",
           s->lock == LOCK_NONE ? "takes no lock" : "takes the lock", read_ms,
           write_ms, s->lock == LOCK_NONE ? "" : ", then unlocks");
    if (quiz->quiz) {
        printf("  sold      ?  (buyers who believe they bought a ticket)\n"
               "  left      ?  (what the store counts at the end)\n"
               "  oversold  ?  (sold beyond the stock)\n"
               "  elapsed   ?  (from the first buyer's start to the last "
               "one's end)\n");
        printf("Predict, then see: build/bin/tickets --answer --buyers %d "
               "--stock %" PRId64 " --lock %s --read-delay %g --write-delay "
               "%g%s%s\n", s->buyers, s->stock, lock_names[s->lock], read_ms,
               write_ms, s->store == STORE_SHM ? " --store shm" : "",
               mode == 1 ? " --mode thread" : "");
        return;
    }

    struct prediction p = predict(s, read_ms, write_ms);
    char sold[64], left[64], oversold[64], took[32];
    range_text(p.sold_low, p.sold_high, sold, sizeof sold);
    range_text(p.left_low, p.left_high, left, sizeof left);
    range_text(oversold_of(p.sold_low, s->stock),
               oversold_of(p.sold_high, s->stock), oversold, sizeof oversold);
    duration_text(p.elapsed_ms / 1000, took, sizeof took);
    int sales = p.sold_low;
    if (p.serial) {
        printf("  sold      %s = min(%" PRId64 " ticket%s, %d buyer%s): under "
               "the lock each buyer reads\n            what the last one "
               "wrote\n", sold, s->stock, s->stock == 1 ? "" : "s",
               s->buyers, s->buyers == 1 ? "" : "s");
        printf("  left      %s = %" PRId64 " - %d\n", left, s->stock, sales);
        printf("  oversold  0\n");
        printf("  elapsed   about %s = %d x %g ms reading + %d x %g ms "
               "writing, one buyer at a time\n            (at least that; "
               "more by what starting the buyers and the store take)\n",
               took, s->buyers, read_ms, sales, write_ms);
    } else if (s->stock == 0) {
        printf("  sold      0: there is nothing to sell; every buyer reads 0\n"
               "  left      0\n  oversold  0\n");
        printf("  elapsed   at least %s (one read delay): the buyers "
               "overlap\n", took);
    } else {
        /* Each figure: its bounds, and what it is if every buyer reads the
         * whole stock before the first write-back. */
        bool open = p.sold_low != p.sold_high;
        char all[80];
        snprintf(all, sizeof all, "if all %d read the stock before the first "
                 "write-back", s->buyers);
        if (open)
            printf("  sold      %s -- %d %s\n", sold, p.all_sold, all);
        else
            printf("  sold      %s: there is a ticket for every buyer, "
                   "whatever it reads\n", sold);
        if (p.left_low != p.left_high)
            printf("  left      %s -- %" PRId64 " %s\n            (each "
                   "write-back writes what it read, less one)\n", left,
                   p.all_left, open ? "if they all do" : all);
        else
            printf("  left      %s: each write-back writes what it read, less "
                   "one\n", left);
        if (oversold_of(p.sold_low, s->stock) != oversold_of(p.sold_high, s->stock))
            printf("  oversold  %s -- %d if they all do\n", oversold,
                   oversold_of(p.all_sold, s->stock));
        else
            printf("  oversold  %s\n", oversold);
        printf("  elapsed   at least %s (%g ms reading + %g ms writing, for "
               "the first buyer): they overlap\n", took, read_ms, write_ms);
        if (open)
            printf("  Every buyer that reads before the first write-back (%s "
                   "after the first read)\n  reads the whole stock and buys. "
                   "Whether all %d do depends on how fast this\n  machine "
                   "starts them: the run measures it.\n", took, s->buyers);
    }
    printf("The run, to check it:\n");
}

/* After an --answer run: each figure against the prediction.  True if the
 * run agrees. */
static bool check_answer(const struct setup *s, const struct outcome *o,
                         double read_ms, double write_ms)
{
    struct prediction p = refine(predict(s, read_ms, write_ms), s, o->early);
    bool ok = true;
    printf("\nThe answer, checked against this run:\n");
    if (!p.serial && s->stock > 0)
        printf("  read the stock before the first write-back: %d of %d "
               "buyers (measured)%s\n", o->early, s->buyers,
               o->early == s->buyers ? ": the case with one answer"
               : s->stock == 1       ? "; with one ticket, exactly those buy"
                                     : "; each of them buys");
    struct {
        const char *label;
        int64_t low, high, measured;
    } figures[] = {
        {"sold", p.sold_low, p.sold_high, o->sold},
        {"left", p.left_low, p.left_high, o->left},
        {"oversold", oversold_of(p.sold_low, s->stock),
         oversold_of(p.sold_high, s->stock), o->oversold},
    };
    for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++) {
        char predicted[64];
        range_text(figures[k].low, figures[k].high, predicted,
                   sizeof predicted);
        bool within = figures[k].low <= figures[k].measured &&
                      figures[k].measured <= figures[k].high;
        printf("  %-9s predicted %s, measured %" PRId64 ": %s\n",
               figures[k].label, predicted, figures[k].measured,
               within ? "as predicted" : "OFF");
        ok &= within;
    }
    /* The sleeps are lower bounds (a sleep never ends early); the rest of
     * the time is starting the buyers and the store's work. */
    char predicted[32], measured[32], more[32];
    duration_text(p.elapsed_ms / 1000, predicted, sizeof predicted);
    duration_text(o->seconds, measured, sizeof measured);
    double extra = o->seconds - p.elapsed_ms / 1000;
    duration_text(extra > 0 ? extra : -extra, more, sizeof more);
    bool within = o->seconds >= 0.98 * p.elapsed_ms / 1000;
    printf("  elapsed   predicted at least %s%s, measured %s: ", predicted,
           p.serial ? " (the delays, one at a time)" : "", measured);
    if (within)
        printf("as predicted, and %s more\n            (starting the buyers, "
               "the store's work, the machine's load)\n", more);
    else
        printf("OFF, %s less than %s\n", more,
               p.serial ? "one buyer at a time can take: the lock did not "
                          "serialize"
                        : "the first buyer's own delays");
    return ok && within;
}

/* --seed with --quiz or --answer: a new problem, for what the flags did not
 * choose.  Every value is drawn, in the same order, whatever the flags, so
 * that choosing one does not change the others. */
static void draw_problem(struct quiz *quiz, const struct program *program,
                         uint64_t *buyers, uint64_t *stock, double *read_ms,
                         double *write_ms, int *lock, int store)
{
    static const double reads[] = {1, 2, 5, 10}, writes[] = {1, 2, 5, 10, 20};
    static const int stocks[] = {0, 1, 1, 2, 3, 5};
    int b = quiz_pick(quiz, 2, 12);
    int st = stocks[quiz_pick(quiz, 0, 5)];
    double rd = reads[quiz_pick(quiz, 0, 3)];
    double wr = writes[quiz_pick(quiz, 0, 4)];
    int lk = quiz_pick(quiz, LOCK_NONE, LOCK_NAIVE);
    if (lk == LOCK_FILE && store != STORE_FILE)
        lk = LOCK_MUTEX; /* a file lock needs the file store */
    if (!flags_given(program, "buyers"))
        *buyers = (uint64_t)b;
    if (!flags_given(program, "stock"))
        *stock = (uint64_t)st;
    if (!flags_given(program, "read-delay"))
        *read_ms = rd;
    if (!flags_given(program, "write-delay"))
        *write_ms = wr;
    if (!flags_given(program, "lock"))
        *lock = lk;
}

/* ---- main ------------------------------------------------------------------ */

static const char *const kill_point_choices[] = {
    "random", "after-read", "before-write", "mid-write", "before-unlock", NULL};

int main(int argc, char **argv)
{
    uint64_t buyers = 20, stock = 1, trials = 1, seed = 0, victim = 0;
    double read_ms = 10, write_ms = 20, timeout = 60;
    int store = STORE_FILE, lock = LOCK_NONE, mode = 0, kill_point = 0;
    bool kill_holder = false, csv = false;
    struct quiz quiz = {0};
    struct flag flags[] = {
        {.name = "buyers", .type = FLAG_COUNT, .target = &buyers, .min = 1,
         .max = MAX_BUYERS, .value_name = "N",
         .help = "how many buyers (the documents: 20)"},
        {.name = "stock", .type = FLAG_COUNT, .target = &stock, .min = 0,
         .max = MAX_STOCK, .value_name = "S", .help = "tickets for sale"},
        {.name = "read-delay", .type = FLAG_DECIMAL, .target = &read_ms,
         .low = 0, .high = 10000, .value_name = "MS",
         .help = "pause after reading the stock, ms (the documents: 100)"},
        {.name = "write-delay", .type = FLAG_DECIMAL, .target = &write_ms,
         .low = 0, .high = 10000, .value_name = "MS",
         .help = "pause before writing it back, ms, only for a buyer who "
                 "buys (the documents: 200)"},
        {.name = "store", .type = FLAG_CHOICE, .target = &store,
         .choices = store_names, .value_name = "KIND",
         .help = "where the count lives: db.txt, or shared memory"},
        {.name = "lock", .type = FLAG_CHOICE, .target = &lock,
         .choices = lock_names, .value_name = "KIND",
         .help = "none (BUGGY ON PURPOSE), mutex, file or naive"},
        {.name = "mode", .type = FLAG_CHOICE, .target = &mode,
         .choices = mode_names, .value_name = "M",
         .help = "buyers are processes or threads"},
        {.name = "trials", .type = FLAG_COUNT, .target = &trials, .min = 1,
         .max = 10000, .value_name = "K",
         .help = "repeat the sale K times, fresh stock each time"},
        {.name = "kill-holder", .type = FLAG_SWITCH, .target = &kill_holder,
         .help = "kill one buyer with SIGKILL inside its critical section"},
        {.name = "victim", .type = FLAG_COUNT, .target = &victim, .min = 1,
         .max = MAX_BUYERS, .value_name = "K",
         .help = "--kill-holder: the K-th buyer to take the lock dies",
         .default_text = "drawn from --seed"},
        {.name = "kill-point", .type = FLAG_CHOICE, .target = &kill_point,
         .choices = kill_point_choices, .value_name = "P",
         .help = "--kill-holder: where it dies (random: drawn from --seed)"},
        flag_quiz(&quiz.quiz),
        flag_answer(&quiz.answer),
        /* only with --kill-holder or --quiz/--answer: refused otherwise */
        flag_seed_random(&quiz.seed),
        flag_timeout(&timeout),
        flag_csv(&csv),
        FLAG_END,
    };
    struct program program = {
        .name = "tickets",
        .synopsis = "selling tickets: the read-modify-write race, the lock, "
                    "and a buyer killed inside the lock (E9, E12)",
        .description =
            "Each buyer, as in the documents: search (look at the count, no "
            "lock), then\nget: lock, read the stock, wait --read-delay; if "
            "a ticket is left, take it,\nwait --write-delay and write the "
            "stock back; unlock.  Without a lock (BUGGY\nON PURPOSE) several "
            "buyers read the same stock: the ticket is oversold.  A\nlock "
            "makes it correct and serial: elapsed = buyers x read delay + "
            "sales x\nwrite delay.\n"
            "Locks: mutex (robust, process-shared; file or shm store), file "
            "(an OFD\nfcntl lock; file store), naive (a semaphore, as "
            "Python's Lock; file or shm).\n"
            "--kill-holder (processes, with a lock): one buyer dies inside "
            "its critical\nsection: the --victim-th to take the lock, at "
            "--kill-point; what is not given\nis drawn from --seed (random "
            "and printed when absent).  After the buyers the\nparent takes "
            "the lock once more, so a last holder's death is repaired too.\n\n"
            "CSV (--csv): store,lock,mode,buyers,stock,trial,sold,left,"
            "oversold,seconds,\n  recorded,killed,early; one row per trial; "
            "sold = surviving buyers who\n  believe they bought; oversold = "
            "sold - stock when positive; recorded =\n  sales in the store's "
            "list of buyers; killed = 1 if the victim died as\n  planned; "
            "early = buyers who read the stock before the first write-back.\n\n"
            "--quiz prints one sale's setup with ? for sold, left, oversold "
            "and elapsed,\nand runs nothing; --answer (same flags) computes "
            "them by the lab's rules\n(with a lock: exact; without: bounds), "
            "runs the sale and checks both.  --seed S\nwith either draws a "
            "new problem for what the flags do not choose.",
        .exit_notes = "  With a lock, exit 1 means the store and the buyers "
                      "disagree (oversold, a lost\n  or torn sale).  Without "
                      "a lock, overselling is the expected result: exit 0.\n"
                      "  A buyer that ends any other way than the planned "
                      "kill fails the run: exit 4\n  if a system call failed "
                      "in it, else 1.\n"
                      "  --lock naive --kill-holder always ends in exit 3: "
                      "the dead holder's semaphore\n  is never released (the "
                      "parent's last check waits for it too), and the\n  "
                      "watchdog says so; so does any buyer that dies holding "
                      "it.\n"
                      "  --answer: exit 1 if the run does not agree with the "
                      "answer (OFF is printed).",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);
    quiz_start(&quiz, &program); /* refuses --quiz with --answer */
    bool quizzing = quiz.quiz || quiz.answer;
    if (quizzing && (csv || kill_holder || trials != 1))
        flags_usage_error(&program, "--%s: not with --%s (the question is one "
                          "sale's sold, left, oversold and elapsed)",
                          quiz.quiz ? "quiz" : "answer",
                          csv ? "csv" : kill_holder ? "kill-holder" : "trials");
    if (quiz.seeded && quizzing && flags_given(&program, "buyers") &&
        flags_given(&program, "stock") && flags_given(&program, "lock") &&
        flags_given(&program, "read-delay") &&
        flags_given(&program, "write-delay"))
        flags_usage_error(&program, "--seed: nothing to draw: --buyers, "
                                    "--stock, --lock, --read-delay and "
                                    "--write-delay are all given");
    if (quiz.seeded && quizzing)
        draw_problem(&quiz, &program, &buyers, &stock, &read_ms, &write_ms,
                     &lock, store);
    if (lock == LOCK_FILE && store != STORE_FILE)
        flags_usage_error(&program, "--lock file: locks the store's file; "
                                    "use it with --store file");
    if (kill_holder && lock == LOCK_NONE)
        flags_usage_error(&program, "--kill-holder: needs a lock (mutex, "
                                    "file or naive): without one there is no "
                                    "holder to kill");
    if (kill_holder && mode != 0)
        flags_usage_error(&program, "--kill-holder: only with --mode process "
                                    "(SIGKILL ends a whole process, not one "
                                    "thread)");
    bool given_victim = flags_given(&program, "victim");
    bool given_point = flags_given(&program, "kill-point") && kill_point != 0;
    if (!kill_holder && (given_victim || flags_given(&program, "kill-point")))
        flags_usage_error(&program, "--%s: only with --kill-holder",
                          given_victim ? "victim" : "kill-point");
    if (quiz.seeded && !kill_holder && !quizzing)
        flags_usage_error(&program, "--seed: nothing is random without "
                                    "--kill-holder (the seed picks the victim "
                                    "and its kill point) or --quiz/--answer "
                                    "(it draws a new problem)");
    if (flags_given(&program, "seed") && given_victim && given_point)
        flags_usage_error(&program, "--seed: nothing is random: --victim and "
                                    "--kill-point are both given");
    if (given_victim && victim > buyers)
        flags_usage_error(&program, "--victim: %" PRIu64 " is more than the "
                          "%" PRIu64 " buyers", victim, buyers);
    bool writes = kill_point - 1 == KILL_BEFORE_WRITE ||
                  kill_point - 1 == KILL_MID_WRITE;
    if (writes && (stock == 0 || (given_victim && victim > stock)))
        flags_usage_error(&program, "--kill-point %s: the victim would never "
                          "write (only the first %" PRIu64 " buyers to take "
                          "the lock buy a ticket)", kill_point_choices[kill_point],
                          stock);
    bool random = kill_holder && !(given_victim && given_point);
    seed = quiz.seed;
    if (random && !quiz.seeded)
        seed = clock_nanoseconds(); /* random unless asked to repeat */

    static struct setup s;
    s.store = store;
    s.lock = lock;
    s.stock = (int64_t)stock;
    s.buyers = (int)buyers;
    if (quizzing)
        print_problem(&s, &quiz, mode, read_ms, write_ms);
    if (quiz.quiz)
        return EXIT_OK; /* the question only: nothing runs */

    watchdog_start(program.name, timeout);

    s.shared = CHECK_PTR(mmap(NULL, sizeof *s.shared, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                         MAP_FAILED);
    s.read_delay = read_ms / 1000;
    s.write_delay = write_ms / 1000;
    cleanup_tempdir("tickets", s.directory, sizeof s.directory);
    snprintf(s.db, sizeof s.db, "%s/db.txt", s.directory);
    snprintf(s.lockfile, sizeof s.lockfile, "%s/lock", s.directory);
    if (lock == LOCK_FILE)
        close(CHECK(open(s.lockfile, O_RDWR | O_CREAT | O_CLOEXEC, 0600)));
    watchdog_set_diagnosis(crash_diagnose, &s);

    enum run_mode run_mode = mode == 0 ? RUN_PROCESSES : RUN_THREADS;
    if (csv) {
        printf("store,lock,mode,buyers,stock,trial,sold,left,oversold,"
               "seconds,recorded,killed,early\n");
    } else {
        printf("tickets: %d buyer %s, %d ticket%s, store %s, lock %s",
               (int)buyers, mode == 0 ? "processes" : "threads", (int)stock,
               stock == 1 ? "" : "s",
               store == STORE_FILE ? s.db : "in shared memory",
               lock_names[lock]);
        if (random)
            printf("; seed %" PRIu64, seed);
        printf("\n");
        if (lock == LOCK_NONE)
            printf("  BUGGY ON PURPOSE: no lock, so buyers may all read the "
                   "stock before anyone writes it back.\n");
    }

    int *oversold = xcalloc(trials, sizeof *oversold);
    int *early = xcalloc(trials, sizeof *early);
    bool all_correct = true, answer_checks = true;
    struct outcome failure = {.failed = -1};
    uint64_t rng = seed, done = 0;
    for (uint64_t t = 0; t < trials; t++) {
        reset(&s, &rng, kill_holder, (int)victim, kill_point - 1);
        struct worker_run run = workers_run(run_mode, (int)buyers, buyer, &s,
                                            NULL);
        crash_audit(&s); /* the last locker: repairs a last holder's death */
        struct outcome o = check_trial(&s, &run);
        oversold[t] = o.oversold;
        early[t] = o.early;
        all_correct &= o.failures == 0 && (lock == LOCK_NONE || o.correct);
        if (csv)
            printf("%s,%s,%s,%d,%d,%d,%d,%" PRId64 ",%d,%.6f,%d,%d,%d\n",
                   store_names[store], lock_names[lock], mode_names[mode],
                   (int)buyers, (int)stock, (int)t + 1, o.sold, o.left,
                   o.oversold, o.seconds, o.recorded, o.killed >= 0, o.early);
        else if (trials == 1)
            narrate(&s, &run, &o, read_ms, write_ms);
        else if (lock == LOCK_NONE && o.failures == 0)
            printf("  trial %-4d sold %-4d left %-4" PRId64 " oversold %-4d "
                   "read before the first write-back: %d of %d\n", (int)t + 1,
                   o.sold, o.left, o.oversold, o.early, (int)buyers);
        else
            printf("  trial %-4d sold %-4d left %-4" PRId64 " oversold %-4d "
                   "%s%s\n", (int)t + 1, o.sold, o.left, o.oversold,
                   o.failures > 0 ? "FAILED: a buyer did not finish "
                   : o.correct    ? ""
                                  : "WRONG ",
                   s.shared->repair[0] ? "(repaired after a buyer died)" : "");
        if (quiz.answer && o.failures == 0)
            answer_checks = check_answer(&s, &o, read_ms, write_ms);
        worker_run_release(&run);
        done = t + 1;
        if (o.failures > 0) {
            failure = o;
            break; /* the sale cannot be checked: stop here */
        }
    }
    watchdog_stop();

    if (!csv && trials > 1 && failure.failures == 0)
        summarize_trials(&s, oversold, early, (int)trials);
    free(oversold);
    free(early);
    if (failure.failures > 0) {
        char how[64];
        proc_describe_exitcode(failure.failed_status, how, sizeof how);
        fprintf(stderr, "tickets: FAILED: in trial %d, buyer-%d %s, and not "
                        "as a planned kill;\ntickets: %d buyer%s failed, so "
                        "the sale cannot be checked\n", (int)done,
                failure.failed, how, failure.failures,
                failure.failures == 1 ? "" : "s");
        return failure.failed_status == EXIT_SYSTEM ? EXIT_SYSTEM : EXIT_WRONG;
    }
    if (!all_correct) {
        fprintf(stderr, "tickets: WRONG: with --lock %s the store and the "
                        "buyers disagree (see above)\n", lock_names[lock]);
        return EXIT_WRONG;
    }
    if (!answer_checks) {
        fprintf(stderr, "tickets: the run does not agree with the answer "
                        "(OFF above)\n");
        return EXIT_WRONG;
    }
    return EXIT_OK;
}
