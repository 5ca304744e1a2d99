/* prodcons.c: the documents' producer/consumer (E6), which hangs once the
 * items run out, and its three fixes.
 *
 * The documents' producer puts 7 strings on a Queue, pausing 0.2 s after
 * each; the consumer loops `while True: v = q.get()`, pausing 0.1 s after
 * each; the main program joins the consumer.  Once the 7 items are gone the
 * consumer waits in get() for an 8th that nobody will ever put, and main
 * waits for the consumer: nothing in the loop tells it the items are over.
 * Each fix is a way of telling it:
 *   --fix sentinel  main, once every producer is joined, puts one end
 *                   marker per consumer;
 *   --fix close     the last producer to finish closes the queue, and
 *                   get() on a closed, empty queue returns CLOSED;
 *   --fix timeout   a consumer stops after --give-up seconds without an
 *                   item -- which also stops it when a producer is merely
 *                   slow (fragile: see the handout).
 * The producer here also serves join-before-drain (join_drain.c).
 */
#define _GNU_SOURCE
#include "deadlock.h"

#include "timing.h"

#include <stdio.h>
#include <unistd.h>

/* The queue, and every party that puts on it or gets from it, are on the
 * board before the first fork(). */
void queue_set_up(void)
{
    char name[32];
    run.queue = queue_create((size_t)run.capacity, sizeof(struct item));
    run.queue_index = board_add_queue(run.board, "items", run.queue,
                                      run.capacity);
    for (int p = 0; p < run.producers; p++) {
        snprintf(name, sizeof name, "producer-%d", p);
        int party = board_add_party(run.board, name);
        board_set_role(run.board, party, run.queue_index, true, false);
        if (p == 0)
            run.first_producer = party;
    }
    for (int c = 0; c < run.consumers; c++) {
        snprintf(name, sizeof name, "consumer-%d", c);
        int party = board_add_party(run.board, name);
        board_set_role(run.board, party, run.queue_index, false, true);
        if (c == 0)
            run.first_consumer = party;
    }
    /* main reads in join-before-drain, and puts the end markers of
     * --fix sentinel. */
    board_set_role(run.board, run.main_party, run.queue_index,
                   run.fix == FIX_SENTINEL, run.scenario == JOIN_BEFORE_DRAIN);
}

/* ---- The producer -------------------------------------------------------- */

/* The documents' strings: 'aa', 'bb', ... 'gg' (and on, for --items > 7). */
static struct item make_item(int producer, int sequence)
{
    struct item item = {.producer = producer, .sequence = sequence};
    if (sequence < 26)
        snprintf(item.text, sizeof item.text, "%c%c", 'a' + sequence,
                 'a' + sequence);
    else
        snprintf(item.text, sizeof item.text, "item-%d", sequence);
    return item;
}

const struct item end_marker = {.producer = -1, .text = "END"};

int producer(void *arg)
{
    int p = *(const int *)arg, me = run.first_producer + p;
    board_started(run.board, me, getpid(), gettid());
    for (int k = 0; k < run.items; k++) {
        struct item item = make_item(p, k);
        if (put_item(me, &item, QUEUE_BLOCK) != QUEUE_OK)
            return 1; /* nobody closes a queue under a producer */
        say("producer-%d (pid %d) put '%s' (%zu queued)", p, (int)getpid(),
            item.text, queued());
        clock_sleep(run.put_pause);
    }
    if (run.scenario == JOIN_BEFORE_DRAIN) {
        /* Its reader stops at one end marker per producer. */
        if (put_item(me, &end_marker, QUEUE_BLOCK) != QUEUE_OK)
            return 1;
        say("producer-%d (pid %d) put its end marker: done", p, (int)getpid());
    }
    if (run.fix == FIX_CLOSE &&
        atomic_fetch_add(&run.shared->producers_finished, 1) + 1 ==
            run.producers) {
        /* The last producer to finish: nothing more will ever be put. */
        queue_close(run.queue);
        board_closed(run.board, run.queue_index);
        board_progress(run.board);
        say("producer-%d (pid %d) was the last producer: it closed the queue",
            p, (int)getpid());
    }
    board_set(run.board, me, BOARD_FINISHED, -1);
    return 0;
}

void consumed(const char *who, const struct item *item)
{
    atomic_fetch_add(&run.shared->done[item->producer][item->sequence], 1);
    say("%s got '%s' from producer-%d", who, item->text, item->producer);
}

/* ---- The consumer -------------------------------------------------------- */

static int consumer(void *arg)
{
    int c = *(const int *)arg, me = run.first_consumer + c;
    board_started(run.board, me, getpid(), gettid());
    char who[48];
    snprintf(who, sizeof who, "consumer-%d (pid %d)", c, (int)getpid());
    /* The documents' loop: `while True: v = q.get()`.  With --fix none it
     * never ends (BUGGY ON PURPOSE). */
    for (;;) {
        double timeout = run.fix == FIX_TIMEOUT ? run.give_up : QUEUE_BLOCK;
        struct item item;
        enum queue_status status = get_item(me, &item, timeout);
        if (status == QUEUE_OK && item.producer < 0) {
            say("%s got an end marker: no more items, it stops", who);
            break;
        }
        if (status == QUEUE_OK) {
            consumed(who, &item);
            clock_sleep(run.get_pause);
            continue;
        }
        if (status == QUEUE_CLOSED) {
            say("%s: get() says CLOSED: the queue is closed and empty, it "
                "stops", who);
            break;
        }
        if (status == QUEUE_TIMEOUT) {
            say("%s: nothing for %g s: it gives up (the timeout rule)", who,
                run.give_up);
            break;
        }
        return 1;
    }
    board_set(run.board, me, BOARD_FINISHED, -1);
    return 0;
}

/* ---- main's part --------------------------------------------------------- */

void run_prodcons(void)
{
    int me = run.main_party;
    struct proc producers[MAX_PRODUCERS], consumers[MAX_CONSUMERS];
    char name[32];
    for (int c = 0; c < run.consumers; c++) {
        snprintf(name, sizeof name, "consumer-%d", c);
        start(&consumers[c], run.first_consumer + c, name, consumer, c);
    }
    for (int p = 0; p < run.producers; p++) {
        snprintf(name, sizeof name, "producer-%d", p);
        start(&producers[p], run.first_producer + p, name, producer, p);
    }
    for (int p = 0; p < run.producers; p++)
        join_party(me, run.first_producer + p, &producers[p]);
    if (run.fix == FIX_SENTINEL) {
        say("main: every producer has finished; it puts %d end marker%s%s",
            run.markers, run.markers == 1 ? "" : "s",
            run.markers == run.consumers ? ", one per consumer"
            : run.markers < run.consumers ? ", FEWER than the consumers"
                                          : ", MORE than the consumers");
        /* EXERCISE 2: put run.markers end_markers on the queue (put_item,
         * blocking): each consumer stops at the first it gets */
        for (int m = 0; m < run.markers; m++)
            put_item(me, &end_marker, QUEUE_BLOCK);
    }
    if (run.fix == FIX_NONE)
        say("main joins the consumers, which loop forever on get() "
            "(BUGGY ON PURPOSE)");
    for (int c = 0; c < run.consumers; c++)
        join_party(me, run.first_consumer + c, &consumers[c]);
}
