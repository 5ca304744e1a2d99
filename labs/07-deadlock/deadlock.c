/* deadlock.c: three deadlocks reproduced on purpose, detected, explained
 * and fixed -- the documents' producer/consumer hang first (E6).
 *
 * The experiment.  The documents' producer puts 7 strings on a Queue,
 * pausing 0.2 s after each; the consumer loops `while True: v = q.get()`,
 * pausing 0.1 s after each; the main program joins the consumer.  "The
 * program deadlocks, press Ctrl+C": once the 7 items are gone, the consumer
 * waits in get() for an 8th that nobody will ever put, and main waits for
 * the consumer.
 *
 * Here that hang is never left hanging.  Every party (process) writes on a
 * shared board (common/board.h) what it is about to wait for (steps.c), and
 * the watchdog (--stall) fires when nothing has moved for S seconds while
 * every party is blocked.  The diagnosis reads the board as a wait-for graph
 * and says who waits on what, then the run ends with exit 3.  Then the fixes.
 *
 *   --scenario prodcons           (default, prodcons.c) the documents'
 *       program.  Fixes:
 *       --fix sentinel   main puts one end marker per consumer after the
 *                        producers are done;
 *       --fix close      the last producer closes the queue; a consumer
 *                        sees CLOSED once it is drained;
 *       --fix timeout    a consumer gives up after --give-up seconds
 *                        without an item (fragile: see the handout).
 *   --scenario join-before-drain  (join_drain.c) a child puts more than the
 *       queue holds, and main joins it before reading (the pitfall Python's
 *       documentation warns about).  Fix: --fix drain (read everything, then
 *       join).
 *   --scenario lock-order         (lock_order.c) workers move money between
 *       accounts in a ring, each locking the account it takes from, then the
 *       one it gives to: AB-BA.  Fix: --fix order (always lock the lower
 *       account first).
 * This file: the flags, the set-up, the diagnosis, the check and main.
 *
 * Run:    build/bin/deadlock                        (hangs, detected: exit 3)
 *         build/bin/deadlock --fix close
 *         build/bin/deadlock --scenario lock-order --trace
 * Notice: who the diagnosis names, and that each fix ends with every item
 *         consumed exactly once (the lab counts each one).
 */
#define _GNU_SOURCE
#include "deadlock.h"

#include "checked.h"
#include "flags.h"
#include "quiz.h"
#include "timing.h"
#include "watchdog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

const char *const scenario_names[] = {"prodcons", "join-before-drain",
                                      "lock-order", NULL};
const char *const fix_names[] = {"none", "sentinel", "close", "timeout",
                                 "drain", "order", NULL};

struct run run;
static uint64_t run_quiz_seed; /* printed by the quiz, when given */
static bool run_quiz_seeded;

/* ---- If the watchdog fires ----------------------------------------------- */

static void diagnose(void *arg, FILE *out)
{
    (void)arg;
    board_explain(run.board, out, "deadlock: ");
    if (run.scenario != LOCK_ORDER) {
        struct queue_waiters w = queue_waiters(run.queue);
        fprintf(out, "deadlock: the queue itself counts %d asleep in get(), "
                     "%d in put(), and holds %zu of %d items.\n",
                w.getters, w.putters, queued(), run.capacity);
    }
    if (run.fix != FIX_NONE)
        return;
    if (run.scenario == PRODCONS)
        fprintf(out, "deadlock: the documents' consumer loops `while True: "
                     "get()`: nothing tells it the items are over.\n"
                     "deadlock: fixes: --fix sentinel, --fix close or --fix "
                     "timeout.\n");
    else if (run.scenario == JOIN_BEFORE_DRAIN)
        fprintf(out, "deadlock: a process that has put items cannot end "
                     "until they are read; main reads only after\n"
                     "deadlock: the join.  Fix: read everything first, then "
                     "join (--fix drain).\n");
    else
        fprintf(out, "deadlock: each worker takes its own account's lock "
                     "first; around the ring every one\n"
                     "deadlock: waits for the next.  Fix: one global lock "
                     "order (--fix order).\n");
}

/* ---- The flags, the set-up and the header -------------------------------- */

/* Flags that do not belong together: refuse them (exit 2) rather than
 * ignore them. */
static void refuse_contradictions(const struct program *program, int scenario,
                                  int fix, bool trace_steps, bool csv)
{
    static const unsigned fixes_of[] = {
        [PRODCONS] = 1u << FIX_NONE | 1u << FIX_SENTINEL | 1u << FIX_CLOSE |
                     1u << FIX_TIMEOUT,
        [JOIN_BEFORE_DRAIN] = 1u << FIX_NONE | 1u << FIX_DRAIN,
        [LOCK_ORDER] = 1u << FIX_NONE | 1u << FIX_ORDER,
    };
    static const char *const fixes_text[] = {
        [PRODCONS] = "none, sentinel, close or timeout",
        [JOIN_BEFORE_DRAIN] = "none or drain",
        [LOCK_ORDER] = "none or order",
    };
    if (!(fixes_of[scenario] >> fix & 1u))
        flags_usage_error(program, "--fix %s: not a fix for --scenario %s "
                                   "(it takes %s)", fix_names[fix],
                          scenario_names[scenario], fixes_text[scenario]);
    if (flags_given(program, "consumers") && scenario != PRODCONS)
        flags_usage_error(program, "--consumers: only with --scenario "
                                   "prodcons (in join-before-drain main is "
                                   "the reader)");
    static const char *const queue_flags[] = {"producers", "items", "capacity"};
    for (int i = 0; i < 3; i++)
        if (flags_given(program, queue_flags[i]) && scenario == LOCK_ORDER)
            flags_usage_error(program, "--%s: not with --scenario lock-order "
                                       "(it has --workers and --rounds)",
                              queue_flags[i]);
    if ((flags_given(program, "workers") || flags_given(program, "rounds")) &&
        scenario != LOCK_ORDER)
        flags_usage_error(program, "--%s: only with --scenario lock-order",
                          flags_given(program, "workers") ? "workers"
                                                          : "rounds");
    if (flags_given(program, "pause-scale") && scenario == LOCK_ORDER)
        flags_usage_error(program, "--pause-scale: not with --scenario "
                                   "lock-order (it scales the queue "
                                   "scenarios' put and get pauses; "
                                   "lock-order's only pause waits for "
                                   "every worker)");
    if (flags_given(program, "give-up") && fix != FIX_TIMEOUT)
        flags_usage_error(program, "--give-up: only with --fix timeout");
    if (trace_steps && csv)
        flags_usage_error(program, "--trace: prints narration; --csv prints "
                                   "only the row: choose one");
}

/* Everything shared -- the counts, the locks or the queue, and the board
 * with every party on it -- is made before the first fork(). */
static void set_up(void)
{
    run.shared = CHECK_PTR(mmap(NULL, sizeof *run.shared,
                                PROT_READ | PROT_WRITE,
                                MAP_SHARED | MAP_ANONYMOUS, -1, 0),
                           MAP_FAILED);
    run.board = board_create();
    run.main_party = board_add_party(run.board, "main");
    board_started(run.board, run.main_party, getpid(), gettid());
    if (run.scenario == LOCK_ORDER)
        lock_order_set_up();
    else
        queue_set_up();
}

static void print_header(double stall, bool csv)
{
    if (csv) {
        printf("scenario,fix,producers,consumers,workers,expected,done,lost,"
               "duplicated,seconds\n");
    } else if (run.scenario == LOCK_ORDER) {
        printf("deadlock: lock-order, fix %s: %d workers in a ring, %d "
               "transfer%s each; stall %g s\n", fix_names[run.fix], run.workers,
               run.rounds, run.rounds == 1 ? "" : "s", stall);
    } else if (run.scenario == PRODCONS) {
        printf("deadlock: prodcons, fix %s: %d producer%s x %d items (pause "
               "%g s), %d consumer%s (pause %g s), queue of %d; stall %g s\n",
               fix_names[run.fix], run.producers, run.producers == 1 ? "" : "s",
               run.items, run.put_pause, run.consumers,
               run.consumers == 1 ? "" : "s", run.get_pause, run.capacity,
               stall);
    } else {
        printf("deadlock: join-before-drain, fix %s: %d producer%s x %d items "
               "(pause %g s), queue of %d, main reads %s; stall %g s\n",
               fix_names[run.fix], run.producers, run.producers == 1 ? "" : "s",
               run.items, run.put_pause, run.capacity,
               run.fix == FIX_DRAIN ? "first, then joins" : "after joining",
               stall);
    }
    if (!csv && run.fix == FIX_NONE)
        printf("  BUGGY ON PURPOSE: --fix none; the watchdog will end the "
               "hang if it forms.\n");
    fflush(stdout);
}

/* ---- The check: every item exactly once ---------------------------------- */

struct tally {
    int expected, done, lost, duplicated;
    bool balances_kept; /* lock-order: every account back to its start */
};

static struct tally count_up(void)
{
    struct tally t = {.balances_kept = true};
    bool locks = run.scenario == LOCK_ORDER;
    int rows = locks ? run.workers : run.producers;
    int columns = locks ? run.rounds : run.items;
    for (int p = 0; p < rows; p++) {
        for (int k = 0; k < columns; k++) {
            int times = atomic_load(&run.shared->done[p][k]);
            t.expected++;
            t.done += times;
            t.lost += times == 0;
            t.duplicated += times > 1 ? times - 1 : 0;
        }
    }
    for (int a = 0; locks && a < run.workers; a++)
        t.balances_kept &= run.shared->account[a] == START_BALANCE;
    return t;
}

/* The check and the verdict: exit 0 only if every item was consumed (every
 * transfer made) exactly once. */
static int report(double seconds, bool csv)
{
    /* Items still in the queue were never consumed: they count as lost. */
    size_t left = 0, markers_left = 0;
    struct item item;
    while (run.queue != NULL &&
           queue_get(run.queue, &item, sizeof item, NULL, QUEUE_NOWAIT) ==
               QUEUE_OK) {
        left += item.producer >= 0;
        markers_left += item.producer < 0;
    }

    struct tally t = count_up();
    bool correct = t.lost == 0 && t.duplicated == 0 && t.balances_kept;
    if (csv) {
        bool locks = run.scenario == LOCK_ORDER;
        printf("%s,%s,%d,%d,%d,%d,%d,%d,%d,%.6f\n",
               scenario_names[run.scenario], fix_names[run.fix],
               locks ? 0 : run.producers, run.consumers,
               locks ? run.workers : 0,
               t.expected, t.done, t.lost, t.duplicated, seconds);
    } else {
        char took[32];
        duration_text(seconds, took, sizeof took);
        const char *what = run.scenario == LOCK_ORDER ? "transfers" : "items";
        printf("deadlock: %s %d of %d %s, %s (%d lost, %d duplicated) in "
               "%s\n", run.scenario == LOCK_ORDER ? "made" : "consumed", t.done,
               t.expected, what,
               correct ? "each exactly once" : "NOT each exactly once", t.lost,
               t.duplicated, took);
        if (run.scenario == LOCK_ORDER) {
            printf("deadlock: balances");
            for (int a = 0; a < run.workers; a++)
                printf(" %s=%" PRId64, account_name(a), run.shared->account[a]);
            printf(" (each started at %d)\n", START_BALANCE);
        }
        if (left > 0)
            printf("deadlock: %zu item%s still in the queue: nobody was left "
                   "to get %s\n", left, left == 1 ? " was" : "s were",
                   left == 1 ? "it" : "them");
        if (markers_left > 0)
            printf("deadlock: %zu end marker%s left in the queue: more "
                   "markers than consumers\n", markers_left,
                   markers_left == 1 ? " was" : "s were");
        if (run.fix == FIX_NONE && correct)
            printf("deadlock: no deadlock this time: %s\n",
                   run.scenario == JOIN_BEFORE_DRAIN
                       ? "the queue held every item and the end marker, so "
                         "the producers could end before anyone read"
                       : "the hang did not form");
        else if (correct)
            printf("deadlock: --fix %s works\n", fix_names[run.fix]);
    }
    if (run.queue != NULL)
        queue_destroy(run.queue);
    board_destroy(run.board);
    CHECK(munmap(run.shared, sizeof *run.shared));
    if (!correct) {
        fflush(stdout); /* the summary first, then the verdict */
        fprintf(stderr, "deadlock: WRONG: %d of %d %s lost, %d duplicated%s\n",
                t.lost, t.expected,
                run.scenario == LOCK_ORDER ? "transfers" : "items",
                t.duplicated,
                t.balances_kept ? "" : ", and the balances do not add up");
        return EXIT_WRONG;
    }
    return EXIT_OK;
}

/* ---- main ---------------------------------------------------------------- */

/* ---- Predict, then check (--quiz, --answer) ------------------------------ */

/* What --fix sentinel with `markers` end markers does, worked out as the
 * run will show it.  FIFO: the markers go in after every item, so every
 * item is consumed first; each consumer then takes one marker and stops.
 * Fewer markers than consumers: the others wait in get() forever, and main
 * waits to join them.  More: the extra ones stay in the queue, and if they
 * do not fit (more than --capacity), main waits in put() forever, with
 * every getter gone. */
static void predict_sentinel(bool answer)
{
    int extra = run.markers - run.consumers;
    char seed[40] = "";
    if (run_quiz_seeded)
        snprintf(seed, sizeof seed, " (seed %" PRIu64 ")", run_quiz_seed);
    printf("deadlock %s%s: %d producer%s x %d item%s, %d "
           "consumer%s, a queue of %d;\n  after the producers, main puts %d "
           "end marker%s, then joins the consumers.\n",
           answer ? "answer" : "quiz", seed, run.producers,
           run.producers == 1 ? "" : "s", run.items, run.items == 1 ? "" : "s",
           run.consumers, run.consumers == 1 ? "" : "s", run.capacity,
           run.markers, run.markers == 1 ? "" : "s");
    if (!answer) {
        printf("  Does it end?  ?\n  If it hangs: who waits on what?  ?\n");
        return;
    }
    if (extra < 0)
        printf("  It hangs: %d consumer%s wait%s in get() on an empty queue "
               "for a marker that never comes,\n  and main waits in join() "
               "for %s: a deadlock the watchdog will name (exit 3).\n",
               -extra, -extra == 1 ? "" : "s", -extra == 1 ? "s" : "",
               -extra == 1 ? "it" : "them");
    else if (extra > run.capacity)
        printf("  It hangs: every consumer stops at its marker, and %d more "
               "do not fit in a queue of %d:\n  main waits in put() on a full "
               "queue that nobody will ever get from (exit 3).\n",
               extra, run.capacity);
    else if (extra > 0)
        printf("  It ends (exit 0): each consumer stops at its marker; %d "
               "marker%s stay%s in the queue, unread.\n",
               extra, extra == 1 ? "" : "s", extra == 1 ? "s" : "");
    else
        printf("  It ends (exit 0): one marker per consumer, each stops at "
               "its own.\n");
    printf("The run, to check it:\n");
}

int main(int argc, char **argv)
{
    int scenario = PRODCONS, fix = FIX_NONE;
    uint64_t producers = 1, consumers = 1, items = 7, capacity = 4, workers = 2,
             rounds = 3;
    double pause_scale = 1, give_up = 1, stall = 2, timeout = 60;
    bool trace_steps = false, csv = false;
    uint64_t markers = 0;
    struct quiz quiz = {0};
    struct flag flags[] = {
        {.name = "scenario", .type = FLAG_CHOICE, .target = &scenario,
         .choices = scenario_names, .value_name = "S",
         .help = "prodcons (the documents'), join-before-drain or lock-order"},
        {.name = "fix", .type = FLAG_CHOICE, .target = &fix,
         .choices = fix_names, .value_name = "F",
         .help = "none (BUGGY ON PURPOSE), or one of the scenario's fixes "
                 "(above)"},
        {.name = "producers", .type = FLAG_COUNT, .target = &producers,
         .min = 1, .max = MAX_PRODUCERS, .value_name = "P",
         .help = "producer processes (prodcons, join-before-drain)"},
        {.name = "consumers", .type = FLAG_COUNT, .target = &consumers,
         .min = 1, .max = MAX_CONSUMERS, .value_name = "C",
         .help = "consumer processes (prodcons)"},
        {.name = "items", .type = FLAG_COUNT, .target = &items, .min = 1,
         .max = MAX_ITEMS, .value_name = "N",
         .help = "items each producer puts (the documents: 7)"},
        {.name = "capacity", .type = FLAG_COUNT, .target = &capacity, .min = 1,
         .max = 1000, .value_name = "Q",
         .help = "how many items the queue holds"},
        {.name = "workers", .type = FLAG_COUNT, .target = &workers, .min = 2,
         .max = MAX_WORKERS, .value_name = "W",
         .help = "lock-order: workers (and accounts) in the ring"},
        {.name = "rounds", .type = FLAG_COUNT, .target = &rounds, .min = 1,
         .max = MAX_ROUNDS, .value_name = "R",
         .help = "lock-order: transfers each worker makes"},
        {.name = "pause-scale", .type = FLAG_DECIMAL, .target = &pause_scale,
         .low = 0, .high = 100, .value_name = "X",
         .help = "prodcons, join-before-drain: scale the documents' pauses "
                 "(put 0.2 s, get 0.1 s); 0: none"},
        {.name = "give-up", .type = FLAG_DECIMAL, .target = &give_up,
         .low = 0.001, .high = 3600, .value_name = "S",
         .help = "--fix timeout: a consumer stops after S s without an item"},
        {.name = "stall", .type = FLAG_DECIMAL, .target = &stall, .low = 0.05,
         .high = 3600, .value_name = "S",
         .help = "deadlock detector: no progress for S s, every party blocked"},
        {.name = "trace", .type = FLAG_SWITCH, .target = &trace_steps,
         .help = "print each blocking step before and after it, and what "
                 "is held"},
        {.name = "markers", .type = FLAG_COUNT, .target = &markers, .min = 0,
         .max = 1000, .value_name = "M", .default_text = "one per consumer",
         .help = "--fix sentinel: how many end markers main puts"},
        flag_timeout(&timeout),
        flag_csv(&csv),
        flag_quiz(&quiz.quiz),
        flag_answer(&quiz.answer),
        flag_seed_random(&quiz.seed),
        FLAG_END,
    };
    struct program program = {
        .name = "deadlock",
        .synopsis = "the documents' producer/consumer hang and two more "
                    "deadlocks, detected, explained and fixed (E6)",
        .description =
            "prodcons: P producers put N items each, pausing 0.2 s (x "
            "--pause-scale); C consumers\nloop on get(), pausing 0.1 s; main "
            "joins them all.  With --fix none the consumers\nwait forever "
            "once the items are gone (BUGGY ON PURPOSE, as in the documents).\n"
            "  Fixes: sentinel (main puts one end marker per consumer), close "
            "(the last\n  producer closes the queue), timeout (a consumer "
            "gives up after --give-up s).\n"
            "join-before-drain: producers put N items and an end marker on a "
            "queue of --capacity;\nmain joins them before reading (--fix "
            "none) or reads everything first (--fix drain).\n"
            "lock-order: W workers in a ring; worker w moves 1 from account w "
            "to account w+1,\nlocking both.  --fix none locks its own account "
            "first (a cycle); --fix order\nlocks the lower account first.  A "
            "pause point makes the interleaving the same\nevery run.\n\n"
            "Every party writes what it waits for on a shared board; when "
            "nothing has moved for\n--stall seconds while every party is "
            "blocked, the watchdog explains who waits on\nwhat (to stderr) "
            "and ends the run.\n\n"
            "CSV (--csv): scenario,fix,producers,consumers,workers,expected,"
            "done,lost,duplicated,seconds\n  one row; expected = items (or "
            "transfers) made, done = consumed (or transferred),\n  lost = "
            "never consumed, duplicated = consumed more than once.",
        .exit_notes = "  0: the run ended and every item was consumed (every "
                      "transfer made) exactly once.\n  1: an item was lost or "
                      "duplicated (e.g. --fix timeout with too short a "
                      "--give-up).\n  3: a deadlock was detected (--stall) or "
                      "the run outlived --timeout: every --fix\n  none run "
                      "whose deadlock forms ends so, with the diagnosis on "
                      "stderr.",
        .flags = flags,
    };
    flags_parse_or_exit(&program, argc, argv);
    quiz_start(&quiz, &program);
    bool quizzing = quiz.quiz || quiz.answer;
    if (quizzing) {
        /* The quiz is about --fix sentinel's markers: a seed draws a new
         * problem, where the command line did not choose. */
        if (flags_given(&program, "fix") && fix != FIX_SENTINEL)
            flags_usage_error(&program, "--quiz, --answer: about --fix "
                                        "sentinel (how many markers, what "
                                        "then)");
        if (scenario != PRODCONS || csv || trace_steps)
            flags_usage_error(&program, "--quiz, --answer: only with "
                                        "--scenario prodcons, without --csv "
                                        "or --trace");
        fix = FIX_SENTINEL;
        if (quiz.seeded) {
            if (!flags_given(&program, "producers"))
                producers = (uint64_t)quiz_pick(&quiz, 1, 2);
            if (!flags_given(&program, "items"))
                items = (uint64_t)quiz_pick(&quiz, 1, 3);
            if (!flags_given(&program, "consumers"))
                consumers = (uint64_t)quiz_pick(&quiz, 1, 3);
            if (!flags_given(&program, "capacity"))
                capacity = (uint64_t)quiz_pick(&quiz, 1, 3);
            if (!flags_given(&program, "markers"))
                markers = (uint64_t)quiz_pick(&quiz, 0, (int)consumers + 4);
        }
        if (!flags_given(&program, "pause-scale"))
            pause_scale = 0.1; /* a quick run: the answer is in the order */
        if (!flags_given(&program, "stall"))
            stall = 0.5;
    } else if (quiz.seeded) {
        flags_usage_error(&program, "--seed: only with --quiz or --answer "
                                    "(nothing else in deadlock is random)");
    }
    if (flags_given(&program, "markers") && fix != FIX_SENTINEL)
        flags_usage_error(&program, "--markers: only with --fix sentinel");

    refuse_contradictions(&program, scenario, fix, trace_steps, csv);

    run.scenario = scenario;
    run.fix = fix;
    run.producers = (int)producers;
    run.consumers = scenario == PRODCONS ? (int)consumers : 0;
    run.items = (int)items;
    run.capacity = (int)capacity;
    run.workers = (int)workers;
    run.rounds = (int)rounds;
    run.put_pause = 0.2 * pause_scale;
    run.get_pause = 0.1 * pause_scale;
    run.give_up = give_up;
    run.trace = trace_steps;
    run.narrate = !csv;
    run.markers = flags_given(&program, "markers") || quiz.seeded
                      ? (int)markers : run.consumers;
    run_quiz_seed = quiz.seed;
    run_quiz_seeded = quiz.seeded;
    if (quizzing)
        predict_sentinel(quiz.answer);
    if (quiz.quiz) {
        if (quiz.seeded)
            printf("Predict, then see: build/bin/deadlock --answer --seed %"
                   PRIu64 " (and the same flags)\n", quiz.seed);
        else
            printf("Predict, then see: the same command with --answer in "
                   "place of --quiz\n");
        return EXIT_OK; /* the question only: nothing runs */
    }

    watchdog_start(program.name, timeout);

    set_up();
    watchdog_set_diagnosis(diagnose, NULL);
    watchdog_set_stall(stall, board_watch, run.board);

    print_header(stall, csv);

    double started = clock_seconds();
    if (scenario == PRODCONS)
        run_prodcons();
    else if (scenario == JOIN_BEFORE_DRAIN)
        run_join_before_drain();
    else
        run_lock_order();
    double seconds = clock_seconds() - started;
    watchdog_stop();

    return report(seconds, csv);
}
