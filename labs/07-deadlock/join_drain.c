/* join_drain.c: join-before-drain -- main joins a producer that cannot end
 * until main reads, and the fix: read everything, then join.
 *
 * Python's documentation warns about this one ("joining processes that use
 * queues"): a child that has put more on a queue than its pipe holds cannot
 * end until someone reads, so a parent that joins it before reading waits
 * for ever.  Here the queue is bounded, so the wait shows up in the
 * producer's own put() on a full queue of --capacity items; the cycle is
 * the same.  The producers are prodcons.c's, each ending with an end
 * marker; main is the only reader.
 *   --fix none   main joins the producers first, then reads: it waits for
 *                a producer that waits for room only main can make;
 *   --fix drain  main reads until it has one end marker per producer, and
 *                only then joins: every join returns at once.
 * With a queue that holds every item and end marker, --fix none happens to
 * work -- which is how this bug hides in small tests.
 */
#define _GNU_SOURCE
#include "deadlock.h"

#include <stdio.h>
#include <unistd.h>

void run_join_before_drain(void)
{
    int me = run.main_party;
    struct proc producers[MAX_PRODUCERS];
    char name[32];
    for (int p = 0; p < run.producers; p++) {
        snprintf(name, sizeof name, "producer-%d", p);
        start(&producers[p], run.first_producer + p, name, producer, p);
    }
    /* BUGGY ON PURPOSE (--fix none): join first.  A producer that has put
     * more than the queue holds cannot end until someone reads. */
    if (run.fix == FIX_NONE) {
        say("main joins the producers before reading anything (BUGGY ON "
            "PURPOSE)");
        for (int p = 0; p < run.producers; p++)
            join_party(me, run.first_producer + p, &producers[p]);
    }
    say("main reads until it has one end marker per producer");
    char who[48];
    snprintf(who, sizeof who, "main (pid %d)", (int)getpid());
    for (int ends = 0; ends < run.producers;) {
        struct item item;
        if (get_item(me, &item, QUEUE_BLOCK) != QUEUE_OK)
            break;
        if (item.producer < 0)
            ends++;
        else
            consumed(who, &item);
    }
    if (run.fix == FIX_DRAIN) {
        say("main has read everything; now it joins the producers");
        for (int p = 0; p < run.producers; p++)
            join_party(me, run.first_producer + p, &producers[p]);
    }
}
