/* buyer.c: one buyer, the documents' work(n) = search(n) then get(n): the
 * read-modify-write race, and the lock that closes it (E9).
 *
 * The documents' program, for each of 20 processes:
 *
 *     def search(n):   dic = json.load(open("db.txt")); print(dic["count"])
 *     def get(n):      dic = json.load(open("db.txt"))
 *                      time.sleep(0.1)                  # read delay
 *                      if dic["count"] > 0:
 *                          dic["count"] -= 1
 *                          time.sleep(0.2)              # write delay
 *                          json.dump(dic, open("db.txt", "w"))
 *
 * get() reads the count, decides on what it read, and writes back.  Between
 * the read and the write, other buyers read the same count: each of them
 * decides on a value that is out of date by the time it writes, and several
 * "buy" the one ticket.  That window is the bug; a lock around the whole of
 * get() closes it (--lock mutex, file or naive).  The documents import Lock
 * and never use it; with it, work(n) would read
 *
 *     def work(n):     search(n)
 *                      lock.acquire(); get(n); lock.release()
 *
 * and buyer() below is that.
 *
 * The crash_point() lines are where --kill-holder may kill this buyer
 * (crash.c); without --kill-holder they do nothing.
 */
#define _GNU_SOURCE
#include "tickets.h"

#include "timing.h"

/* The documents' search(): look at the count, without any lock. */
static void search(const struct setup *s, int me)
{
    s->shared->record[me].searched = store_search(s);
}

/* The documents' get(): the read-modify-write, which must run under the
 * lock; returns true if this buyer believes it bought. */
static bool get(const struct setup *s, int me)
{
    struct buyer_record *mine = &s->shared->record[me];
    struct store seen;
    store_read(s, &seen); /* the read ... */
    mine->read = seen.left;
    mine->read_order = atomic_fetch_add(&s->shared->events, 1) + 1;
    crash_point(s, me, KILL_AFTER_READ);
    clock_sleep(s->read_delay);

    /* BUGGY ON PURPOSE without a lock: the decision is made on what was
     * read, which other buyers may have changed since. */
    bool buys = seen.left > 0;
    if (buys) {
        seen.left--;
        seen.buyers[seen.sold++] = me;
        crash_point(s, me, KILL_BEFORE_WRITE);
        clock_sleep(s->write_delay);
        /* BUGGY ON PURPOSE without a lock: the write-back overwrites
         * whatever other buyers wrote since the read. */
        store_write(s, &seen, me);
        mine->write_order = atomic_fetch_add(&s->shared->events, 1) + 1;
        mine->wrote_at = clock_seconds();
    }
    crash_point(s, me, KILL_BEFORE_UNLOCK);
    return buys;
}

/* The documents' work(n): a worker_fn, run as a process or as a thread.
 * search() needs no lock: it only looks, and what it saw may be out of date
 * by the time get() reads again -- which is why get() reads again. */
int buyer(struct worker *self)
{
    const struct setup *s = self->input;
    int me = self->index;
    search(s, me);
    /* EXERCISE 3: take the lock (lock_acquire, which returns what
     * lock_release needs), run get() under it into self->result, release it.
     * instead: self->result = get(s, me); */
    int fd = lock_acquire(s, me); /* --lock none: BUGGY ON PURPOSE, no lock */
    self->result = get(s, me);
    lock_release(s, fd);
    return 0;
}
