/* lock_order.c: lock-order -- workers in a ring each lock two accounts,
 * AB-BA, and deadlock; the fix: one global lock order.
 *
 * Worker w moves 1 from account w to account w+1 (the last one to account
 * 0), holding both accounts' locks so the transfer is safe.
 *   --fix none   each worker locks the account it takes from, then the one
 *                it gives to: worker w holds w and wants w+1, and around
 *                the ring every worker waits for the next -- a cycle;
 *   --fix order  each worker locks the lower account first, whatever the
 *                direction of its transfer: a cycle would need someone who
 *                holds a higher lock to want a lower one, and nobody does.
 * A pause point after the first lock makes the interleaving the same every
 * run, so the buggy order deadlocks every time, not once in a while.  The
 * check: every transfer made exactly once, every balance back to its start.
 */
#define _GNU_SOURCE
#include "deadlock.h"

#include "checked.h"
#include "timing.h"

#include <stdio.h>
#include <unistd.h>

/* ---- The accounts and their locks ---------------------------------------- */

const char *account_name(int account)
{
    static const char *const names[MAX_WORKERS] = {"A", "B", "C", "D",
                                                   "E", "F", "G", "H"};
    return names[account];
}

static void init_lock(pthread_mutex_t *mutex)
{
    /* Process-shared: it lives in shared memory.  Deliberately not robust:
     * when the watchdog ends a deadlock it kills the workers one by one,
     * and a robust mutex would hand a dead worker's lock (EOWNERDEAD) to a
     * survivor in that instant, which would then make its transfers after
     * the diagnosis (seen under AddressSanitizer, where the kills are
     * slower).  A holder that dies here leaves its lock taken for good, and
     * the board says so: "no live party holds it". */
    pthread_mutexattr_t attributes;
    CHECK_PT(pthread_mutexattr_init(&attributes));
    CHECK_PT(pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED));
    CHECK_PT(pthread_mutex_init(mutex, &attributes));
    CHECK_PT(pthread_mutexattr_destroy(&attributes));
}

/* The locks and the workers are on the board before the first fork(). */
void lock_order_set_up(void)
{
    for (int w = 0; w < run.workers; w++) {
        init_lock(&run.shared->lock[w]);
        atomic_store(&run.shared->holder[w], -1);
        run.shared->account[w] = START_BALANCE;
        board_add_lock(run.board, account_name(w));
    }
    char name[32];
    for (int w = 0; w < run.workers; w++) {
        snprintf(name, sizeof name, "worker-%d", w);
        int party = board_add_party(run.board, name);
        if (w == 0)
            run.first_worker = party;
    }
}

/* lock() and unlock(), announced on the board like every blocking step
 * (steps.c), and recorded for the pause point. */
static void lock_account(int me, int worker, int account)
{
    trace(me, "before:", "lock(%s)", account_name(account));
    board_set(run.board, me, BOARD_BLOCKED_LOCK, account);
    /* A plain pthread_mutex_lock, no timed variant: the buggy order must
     * really deadlock, and the watchdog is what ends it. */
    CHECK_PT(pthread_mutex_lock(&run.shared->lock[account]));
    atomic_store(&run.shared->holder[account], worker);
    board_hold(run.board, me, account, true);
    board_set(run.board, me, BOARD_RUNNING, -1);
    board_progress(run.board);
    trace(me, "after:", "lock(%s) returned: locked", account_name(account));
}

static void unlock_account(int me, int account)
{
    atomic_store(&run.shared->holder[account], -1);
    board_hold(run.board, me, account, false);
    CHECK_PT(pthread_mutex_unlock(&run.shared->lock[account]));
}

/* ---- The workers --------------------------------------------------------- */

/* The pause point that makes the interleaving reproducible (as OSTEP's
 * homework does): after taking its first lock, a worker waits until every
 * other worker has taken its own first lock, or is stuck asking for one
 * that someone else holds.  Then every worker asks for its second lock
 * with the first one held, whatever the scheduler does: with the ring
 * order, every time a deadlock; with the global order, never. */
static int first_lock_of(int worker)
{
    /* EXERCISE 3: worker w moves money from account w to account w + 1
     * (round the ring); with --fix order it must take the lower-numbered
     * of its two locks first (one global order: no cycle can form)
     * instead: int from = worker; */
    int from = worker, to = (worker + 1) % run.workers;
    if (run.fix == FIX_ORDER && to < from)
        return to;
    return from;
}

static bool has_reached_first(int worker)
{
    struct shared *sh = run.shared;
    if (atomic_load(&sh->past_first[worker]))
        return true;
    int holder = atomic_load(&sh->holder[first_lock_of(worker)]);
    return atomic_load(&sh->wants_first[worker]) && holder >= 0 &&
           holder != worker;
}

static void pause_point(int me, int worker)
{
    trace(me, "pause:", "waits until every worker has reached its first lock");
    for (int v = 0; v < run.workers; v++)
        while (v != worker && !has_reached_first(v))
            clock_sleep(0.001); /* bounded by the watchdog's --timeout */
    trace(me, "pause:", "every worker has reached its first lock: goes on");
}

static int worker(void *arg)
{
    int w = *(const int *)arg, me = run.first_worker + w;
    board_started(run.board, me, getpid(), gettid());
    int from = w, to = (w + 1) % run.workers;
    /* BUGGY ON PURPOSE (--fix none): lock `from`, then `to`.  Worker w
     * holds account w and wants account w+1: around the ring, a cycle.
     * --fix order: lock the lower-named account first, whatever the
     * direction of the transfer; a cycle would need someone to hold a
     * higher lock while wanting a lower one, and nobody ever does. */
    int first = first_lock_of(w), second = first == from ? to : from;
    for (int round = 0; round < run.rounds; round++) {
        if (round == 0)
            atomic_store(&run.shared->wants_first[w], true);
        lock_account(me, w, first);
        if (round == 0) {
            atomic_store(&run.shared->past_first[w], true);
            pause_point(me, w);
        }
        lock_account(me, w, second);
        run.shared->account[from] -= 1; /* both locks held: a safe transfer */
        run.shared->account[to] += 1;
        atomic_fetch_add(&run.shared->done[w][round], 1);
        say("worker-%d (pid %d) holds %s and %s: moved 1 from %s to %s "
            "(round %d)", w, (int)getpid(), account_name(first),
            account_name(second), account_name(from), account_name(to),
            round + 1);
        unlock_account(me, second);
        unlock_account(me, first);
    }
    board_set(run.board, me, BOARD_FINISHED, -1);
    return 0;
}

/* ---- main's part --------------------------------------------------------- */

void run_lock_order(void)
{
    struct proc workers[MAX_WORKERS];
    char name[32];
    for (int w = 0; w < run.workers; w++) {
        snprintf(name, sizeof name, "worker-%d", w);
        start(&workers[w], run.first_worker + w, name, worker, w);
    }
    for (int w = 0; w < run.workers; w++)
        join_party(run.main_party, run.first_worker + w, &workers[w]);
}
