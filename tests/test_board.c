/* test_board.c: unit tests of common/board.h, the shared board of who
 * waits on what: the "every party blocked" predicate, the progress count,
 * the wait-for graph (cycles and waits nobody can end) and its words, across
 * fork(), and after a writer is killed in the middle of an update.
 */
#define _GNU_SOURCE
#include "harness.h"

#include "board.h"
#include "queue.h"
#include "timing.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* board_explain's text, in a malloc'd string (free it). */
static char *explain(struct board *board)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_ptr_nonnull(out);
    board_explain(board, out, "t: ");
    fclose(out);
    return text;
}

/* main joins worker-0; worker-w holds lock w and wants lock w+1 (a ring). */
static struct board *lock_ring(int workers)
{
    static const char *const names[] = {"A", "B", "C", "D"};
    struct board *board = board_create();
    int main_party = board_add_party(board, "main");
    board_started(board, main_party, 100, 100);
    for (int w = 0; w < workers; w++)
        board_add_lock(board, names[w]);
    for (int w = 0; w < workers; w++) {
        char name[16];
        snprintf(name, sizeof name, "worker-%d", w);
        int party = board_add_party(board, name);
        board_started(board, party, 101 + w, 101 + w);
        board_hold(board, party, w, true);
        board_set(board, party, BOARD_BLOCKED_LOCK, (w + 1) % workers);
    }
    board_set(board, main_party, BOARD_BLOCKED_JOIN, 1);
    return board;
}

START_TEST(all_blocked_needs_every_live_party_blocked)
{
    struct board *board = board_create();
    ck_assert(!board_all_blocked(board)); /* nobody: not a deadlock */
    int a = board_add_party(board, "a"), b = board_add_party(board, "b");
    ck_assert(!board_all_blocked(board)); /* starting */
    board_started(board, a, 10, 10);
    board_started(board, b, 11, 11);
    board_set(board, a, BOARD_BLOCKED_GET, 0);
    ck_assert(!board_all_blocked(board)); /* b runs */
    board_set(board, b, BOARD_WAITING, 0);
    ck_assert(!board_all_blocked(board)); /* a wait with a timeout ends */
    board_set(board, b, BOARD_FINISHED, -1);
    ck_assert(board_all_blocked(board)); /* b can do nothing more */
    board_set(board, a, BOARD_BLOCKED_JOIN, b);
    ck_assert(!board_all_blocked(board)); /* a's join of b returns */
    board_set(board, a, BOARD_BLOCKED_GET, 0);
    board_exited(board, b, 0);
    ck_assert(board_all_blocked(board)); /* the dead do not count */
    board_exited(board, a, -9);
    ck_assert(!board_all_blocked(board)); /* nobody left */
    board_destroy(board);
}
END_TEST

START_TEST(watch_reports_progress_and_blocking)
{
    struct board *board = board_create();
    int a = board_add_party(board, "a");
    board_started(board, a, 10, 10);
    struct watchdog_progress p = board_watch(board);
    ck_assert(p.count == 0 && !p.all_blocked);
    board_progress(board);
    board_progress(board);
    board_set(board, a, BOARD_BLOCKED_JOIN, 0);
    p = board_watch(board);
    ck_assert(p.count == 2 && p.all_blocked);
    ck_assert_uint_eq(board_progress_count(board), 2);
    board_destroy(board);
}
END_TEST

START_TEST(lock_cycle_is_found_and_named)
{
    struct board *board = lock_ring(2);
    ck_assert(board_all_blocked(board));
    int cycle[8];
    int length = board_find_cycle(board, cycle, 8);
    ck_assert_int_eq(length, 2);
    /* worker-0 and worker-1 (parties 1 and 2), in wait order. */
    ck_assert((cycle[0] == 1 && cycle[1] == 2) || (cycle[0] == 2 && cycle[1] == 1));
    char *text = explain(board);
    ck_assert_msg(strstr(text, "t:   worker-0    (pid 101, tid 101) holds A, "
                               "blocked in lock(B) for 0.") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "t:   main        (pid 100, tid 100) blocked in "
                               "join(worker-0) for ") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "t: a cycle: worker-0 holds A and waits for B, "
                               "held by worker-1; worker-1 holds B and waits "
                               "for A, held by worker-0: neither can move.\n")
                      != NULL, "%s", text);
    ck_assert_msg(strstr(text, "t: main (pid 100) waits for worker-0, which can "
                               "never move either.\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "a deadlock.\n") != NULL, "%s", text);
    free(text);
    board_destroy(board);
}
END_TEST

START_TEST(ring_of_four_is_one_cycle)
{
    struct board *board = lock_ring(4);
    int cycle[8];
    ck_assert_int_eq(board_find_cycle(board, cycle, 8), 4);
    char *text = explain(board);
    ck_assert_msg(strstr(text, "worker-3 holds D and waits for A, held by "
                               "worker-0: none of them can move.\n") != NULL,
                  "%s", text);
    free(text);
    board_destroy(board);
}
END_TEST

START_TEST(running_holder_is_not_a_deadlock)
{
    struct board *board = lock_ring(2);
    board_set(board, 2, BOARD_RUNNING, -1); /* worker-1, holding B, runs */
    ck_assert(!board_all_blocked(board));
    int cycle[8];
    ck_assert_int_eq(board_find_cycle(board, cycle, 8), 0);
    char *text = explain(board);
    ck_assert_msg(strstr(text, "t: not a deadlock (yet): worker-1 (pid 102) is "
                               "not blocked: holds B, running.\n") != NULL,
                  "%s", text);
    ck_assert_ptr_null(strstr(text, "a cycle"));
    free(text);
    board_destroy(board);
}
END_TEST

START_TEST(own_lock_is_a_cycle_of_one)
{
    struct board *board = board_create();
    board_add_lock(board, "A");
    int p = board_add_party(board, "worker-0");
    board_started(board, p, 7, 7);
    board_hold(board, p, 0, true);
    board_set(board, p, BOARD_BLOCKED_LOCK, 0);
    int cycle[4];
    ck_assert_int_eq(board_find_cycle(board, cycle, 4), 1);
    char *text = explain(board);
    ck_assert_msg(strstr(text, "a cycle: worker-0 holds A and waits for A, held "
                               "by worker-0: it can never move.\n") != NULL,
                  "%s", text);
    free(text);
    board_destroy(board);
}
END_TEST

START_TEST(get_after_every_producer_ended_is_a_dead_end)
{
    struct queue *queue = queue_create(4, 8);
    struct board *board = board_create();
    int q = board_add_queue(board, "items", queue, 4);
    int main_party = board_add_party(board, "main");
    int producer = board_add_party(board, "producer-0");
    int consumer = board_add_party(board, "consumer-0");
    board_set_role(board, producer, q, true, false);
    board_set_role(board, consumer, q, false, true);
    board_started(board, main_party, 1, 1);
    board_started(board, producer, 2, 2);
    board_started(board, consumer, 3, 3);
    board_set(board, consumer, BOARD_BLOCKED_GET, q);
    board_set(board, main_party, BOARD_BLOCKED_JOIN, producer);
    ck_assert(!board_all_blocked(board)); /* the producer still runs */
    board_exited(board, producer, 0);
    board_set(board, main_party, BOARD_BLOCKED_JOIN, consumer);
    ck_assert(board_all_blocked(board));
    int cycle[4];
    ck_assert_int_eq(board_find_cycle(board, cycle, 4), 0);
    char *text = explain(board);
    ck_assert_msg(strstr(text, "consumer-0  (pid 3, tid 3) blocked in get() on "
                               "an empty queue 'items' for ") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "producer-0  (pid 2, tid 2) exited with status 0\n")
                      != NULL, "%s", text);
    ck_assert_msg(strstr(text, "t: consumer-0 (pid 3) waits for an item on "
                               "'items', but nothing can ever arrive: every "
                               "party that puts on it has ended (producer-0 "
                               "exited with status 0).\n") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "t: main (pid 1) waits for consumer-0, which can "
                               "never move either.\n") != NULL, "%s", text);
    free(text);
    board_destroy(board);
    queue_destroy(queue);
}
END_TEST

START_TEST(join_and_full_put_make_a_cycle)
{
    struct queue *queue = queue_create(1, 8);
    ck_assert_int_eq(queue_put(queue, "x", 1, QUEUE_NOWAIT), QUEUE_OK);
    struct board *board = board_create();
    int q = board_add_queue(board, "items", queue, 1);
    int main_party = board_add_party(board, "main");
    int producer = board_add_party(board, "producer-0");
    board_set_role(board, main_party, q, false, true);
    board_set_role(board, producer, q, true, false);
    board_started(board, main_party, 1, 1);
    board_started(board, producer, 2, 2);
    board_set(board, producer, BOARD_BLOCKED_PUT, q);
    board_set(board, main_party, BOARD_BLOCKED_JOIN, producer);
    int cycle[4];
    ck_assert_int_eq(board_find_cycle(board, cycle, 4), 2);
    char *text = explain(board);
    ck_assert_msg(strstr(text, "blocked in put() on a full queue 'items' (1 of 1)")
                      != NULL, "%s", text);
    ck_assert_msg(strstr(text, "a cycle: main waits for producer-0 to end; "
                               "producer-0 waits for room in 'items', which "
                               "only a get() by main could make: neither can "
                               "move.\n") != NULL, "%s", text);
    free(text);
    board_destroy(board);
    queue_destroy(queue);
}
END_TEST

/* The consumer gave up (--fix timeout with too short a --give-up) and
 * finished; main has not reaped it, because it joins the producer first,
 * and the producer waits for room on the full queue.  A finished party can
 * do nothing more: it must neither hide the deadlock nor be named as the
 * one who could make room. */
START_TEST(finished_party_neither_hides_nor_ends_a_deadlock)
{
    struct queue *queue = queue_create(2, 8);
    ck_assert_int_eq(queue_put(queue, "a", 1, QUEUE_NOWAIT), QUEUE_OK);
    ck_assert_int_eq(queue_put(queue, "b", 1, QUEUE_NOWAIT), QUEUE_OK);
    struct board *board = board_create();
    int q = board_add_queue(board, "items", queue, 2);
    int main_party = board_add_party(board, "main");
    int producer = board_add_party(board, "producer-0");
    int consumer = board_add_party(board, "consumer-0");
    board_set_role(board, producer, q, true, false);
    board_set_role(board, consumer, q, false, true);
    board_started(board, main_party, 1, 1);
    board_started(board, producer, 2, 2);
    board_started(board, consumer, 3, 3);
    board_set(board, consumer, BOARD_FINISHED, -1);
    board_set(board, producer, BOARD_BLOCKED_PUT, q);
    board_set(board, main_party, BOARD_BLOCKED_JOIN, producer);
    ck_assert(board_all_blocked(board));
    char *text = explain(board);
    ck_assert_msg(strstr(text, "not a deadlock") == NULL, "%s", text);
    ck_assert_msg(strstr(text, "t: producer-0 (pid 2) waits for room in "
                               "'items', but nothing can ever make room")
                      != NULL, "%s", text);
    free(text);
    /* Joining the finished consumer instead: that join returns. */
    board_set(board, main_party, BOARD_BLOCKED_JOIN, consumer);
    ck_assert(!board_all_blocked(board));
    board_destroy(board);
    queue_destroy(queue);
}
END_TEST

/* A party woken but not yet running again still says "blocked" on the
 * board; what it waits for is there, so it does not count as stuck (on a
 * loaded machine that moment can outlast a short --stall). */
START_TEST(woken_party_is_not_counted_as_blocked)
{
    struct queue *queue = queue_create(1, 8);
    struct board *board = board_create();
    int q = board_add_queue(board, "items", queue, 1);
    int main_party = board_add_party(board, "main");
    int producer = board_add_party(board, "producer-0");
    int consumer = board_add_party(board, "consumer-0");
    board_set_role(board, producer, q, true, false);
    board_set_role(board, consumer, q, false, true);
    board_started(board, main_party, 1, 1);
    board_started(board, producer, 2, 2);
    board_started(board, consumer, 3, 3);
    board_set(board, main_party, BOARD_BLOCKED_JOIN, producer);

    /* get(): stuck on an empty queue, not once an item is there. */
    board_set(board, producer, BOARD_BLOCKED_PUT, q);
    board_set(board, consumer, BOARD_BLOCKED_GET, q);
    ck_assert(!board_all_blocked(board)); /* the producer has room */
    ck_assert_int_eq(queue_put(queue, "x", 1, QUEUE_NOWAIT), QUEUE_OK);
    ck_assert(!board_all_blocked(board)); /* the consumer has an item */
    char *text = explain(board);
    ck_assert_msg(strstr(text, "t: not a deadlock (yet): consumer-0 (pid 3) is "
                               "not blocked: blocked in get() on queue 'items' "
                               "(1 of 1) for ") != NULL &&
                      strstr(text, ", but what it waits for is there: it is "
                                   "about to go on.\n") != NULL,
                  "%s", text);
    ck_assert_ptr_null(strstr(text, "a deadlock.\n"));
    free(text);

    /* put(): stuck on a full queue, with nobody to get. */
    board_exited(board, consumer, -9);
    ck_assert(board_all_blocked(board));
    char item[8];
    ck_assert_int_eq(queue_get(queue, item, sizeof item, NULL, QUEUE_NOWAIT),
                     QUEUE_OK);
    ck_assert(!board_all_blocked(board)); /* room again */

    /* close(): every get() and put() on the queue is about to return. */
    ck_assert_int_eq(queue_put(queue, "x", 1, QUEUE_NOWAIT), QUEUE_OK);
    ck_assert(board_all_blocked(board));
    board_closed(board, q);
    ck_assert(!board_all_blocked(board));
    board_destroy(board);
    queue_destroy(queue);
}
END_TEST

/* Long names and many locks: every text is cut to the caller's buffer,
 * never written past it (adding snprintf's return to an offset unchecked
 * hands the next call a negative size, cast to a huge size_t). */
START_TEST(long_texts_are_cut_to_the_buffer)
{
    struct board *board = board_create();
    for (int l = 0; l < BOARD_LOCKS; l++) {
        char name[32];
        snprintf(name, sizeof name, "lock-number-%04d", l); /* cut to 15 */
        board_add_lock(board, name);
    }
    int p = board_add_party(board, "a-very-long-party-name");
    board_started(board, p, 4242, 4242);
    for (int l = 0; l < BOARD_LOCKS; l++)
        board_hold(board, p, l, true);
    board_set(board, p, BOARD_BLOCKED_LOCK, 0);
    char small[24];
    memset(small, 'x', sizeof small);
    board_holdings(board, p, small, sizeof small);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert_str_eq(small, "lock-number-000, lock-n");
    memset(small, 'x', sizeof small);
    board_describe(board, p, small, sizeof small);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    ck_assert(strncmp(small, "holds lock-number-000, ", 23) == 0);
    char *text = explain(board); /* a cycle of one, with 16 locks held */
    ck_assert_msg(strstr(text, "a-very-long-pa") != NULL &&
                      strstr(text, "it can never move.\n") != NULL,
                  "%s", text);
    free(text);
    board_destroy(board);
}
END_TEST

/* A child writes, the parent reads: the board is shared memory. */
START_TEST(board_is_shared_across_fork)
{
    struct board *board = board_create();
    board_add_lock(board, "A");
    board_add_lock(board, "B");
    int p = board_add_party(board, "child");
    pid_t pid = fork();
    ck_assert_int_ne(pid, -1);
    if (pid == 0) {
        board_started(board, p, getpid(), getpid());
        board_hold(board, p, 1, true);
        board_set(board, p, BOARD_BLOCKED_LOCK, 0);
        board_progress(board);
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    char text[256];
    board_describe(board, p, text, sizeof text);
    ck_assert_msg(strncmp(text, "holds B, blocked in lock(A) for ", 32) == 0, "%s",
                  text);
    ck_assert_str_eq(board_holdings(board, p, text, sizeof text), "B");
    char expected[64];
    snprintf(expected, sizeof expected, "child (pid %d)", (int)pid);
    ck_assert_str_eq(board_who(board, p, text, sizeof text), expected);
    ck_assert_uint_eq(board_progress_count(board), 1);
    board_exited(board, p, 0);
    ck_assert_str_eq(board_describe(board, p, text, sizeof text),
                     "exited with status 0");
    board_destroy(board);
}
END_TEST

/* A writer killed at any instant -- perhaps in the middle of an update --
 * never makes a reader wait, and the reaper's board_exited() makes the
 * record whole again. */
START_TEST(writer_killed_mid_update_never_blocks_readers)
{
    struct board *board = board_create();
    int p = board_add_party(board, "writer");
    for (int round = 0; round < 20; round++) {
        pid_t pid = fork();
        ck_assert_int_ne(pid, -1);
        if (pid == 0) {
            board_started(board, p, getpid(), getpid());
            for (unsigned k = 0;; k++)
                board_set(board, p, k & 1 ? BOARD_BLOCKED_GET : BOARD_RUNNING, 0);
        }
        clock_sleep(0.001 * (round % 5));
        kill(pid, SIGKILL);
        ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
        double start = clock_seconds();
        char text[256];
        board_describe(board, p, text, sizeof text);
        (void)board_all_blocked(board);
        ck_assert_msg(clock_seconds() - start < 0.5 * time_scale(),
                      "a reader waited %.3f s", clock_seconds() - start);
        board_exited(board, p, -9);
        ck_assert_str_eq(board_describe(board, p, text, sizeof text),
                         "killed by signal 9 (Killed)");
        board_set(board, p, BOARD_RUNNING, -1); /* reused by the next round */
    }
    board_destroy(board);
}
END_TEST

Suite *board_suite(void)
{
    Suite *suite = suite_create("board");
    TCase *graph = tcase_create("board_graph");
    tcase_set_timeout(graph, 10);
    tcase_add_test(graph, all_blocked_needs_every_live_party_blocked);
    tcase_add_test(graph, watch_reports_progress_and_blocking);
    tcase_add_test(graph, lock_cycle_is_found_and_named);
    tcase_add_test(graph, ring_of_four_is_one_cycle);
    tcase_add_test(graph, running_holder_is_not_a_deadlock);
    tcase_add_test(graph, own_lock_is_a_cycle_of_one);
    tcase_add_test(graph, get_after_every_producer_ended_is_a_dead_end);
    tcase_add_test(graph, join_and_full_put_make_a_cycle);
    tcase_add_test(graph, woken_party_is_not_counted_as_blocked);
    tcase_add_test(graph, finished_party_neither_hides_nor_ends_a_deadlock);
    tcase_add_test(graph, long_texts_are_cut_to_the_buffer);
    suite_add_tcase(suite, graph);

    TCase *shared = tcase_create("board_shared");
    tcase_set_timeout(shared, 10);
    tcase_add_test(shared, board_is_shared_across_fork);
    tcase_add_test(shared, writer_killed_mid_update_never_blocks_readers);
    suite_add_tcase(suite, shared);
    return suite;
}
