/* test_channel_spin.c: the channel's waiting without sleeping (channel.h,
 * "Waiting without sleeping"): a receive spins only while the peer works,
 * never on one CPU, and spinning changes no message.  (The channel's
 * framing, values and failures: test_channel.c.)
 */
#define _GNU_SOURCE
#include "harness.h"

#include "channel.h"
#include "proc.h"
#include "timing.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

struct ends {
    struct channel parent, child;
    int rounds;
};

static int echo(void *arg)
{
    struct ends *ends = arg; /* only the child's end is open here */
    for (int i = 0; i < ends->rounds; i++) {
        struct value value;
        if (channel_recv(&ends->child, &value, -1) != CHANNEL_OK ||
            value.kind != VALUE_INT)
            return 1;
        value.integer++;
        if (channel_send(&ends->child, &value) != CHANNEL_OK)
            return 1;
    }
    return 0;
}

/* A ping-pong of `rounds` round trips; every reply checked. */
static void ping_pong(int rounds)
{
    struct ends ends = {.rounds = rounds};
    channel_pair(&ends.parent, &ends.child);
    struct proc child;
    proc_start_keeping(&child, "echo", echo, &ends,
                       PROC_FDS(ends.child.read_fd, ends.child.write_fd));
    channel_close(&ends.child);
    for (int i = 0; i < rounds; i++) {
        struct value number = value_int(i), reply;
        ck_assert_int_eq(channel_send(&ends.parent, &number), CHANNEL_OK);
        ck_assert_int_eq(channel_recv(&ends.parent, &reply, 10 * time_scale()),
                         CHANNEL_OK);
        ck_assert_int_eq(reply.integer, i + 1);
    }
    ck_assert(proc_join(&child, 10 * time_scale()));
    ck_assert_int_eq(child.exitcode, 0);
    channel_close(&ends.parent);
}

START_TEST(spinning_changes_no_message)
{
    ping_pong(5000);
}
END_TEST

static int sleep_in_receive(void *arg)
{
    struct ends *ends = arg;
    struct value value;
    channel_recv(&ends->child, &value, -1); /* until the parent closes */
    return 0;
}

/* The peer is asleep in a receive, and has read everything we sent (we
 * sent nothing): no reply can come, so our receive must not spin. */
START_TEST(no_spin_while_the_peer_sleeps_waiting_for_us)
{
    struct ends ends;
    channel_pair(&ends.parent, &ends.child);
    struct proc child;
    proc_start_keeping(&child, "sleeper", sleep_in_receive, &ends,
                       PROC_FDS(ends.child.read_fd, ends.child.write_fd));
    channel_close(&ends.child);
    clock_sleep(0.1 * time_scale()); /* it is asleep by now */
    struct channel_spin_stats before = channel_spin_stats();
    struct value value;
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(channel_recv(&ends.parent, &value, 0.02),
                         CHANNEL_TIMEOUT);
    struct channel_spin_stats after = channel_spin_stats();
    if (proc_cpu_count() >= 2)
        ck_assert_uint_eq(after.peer_asleep - before.peer_asleep, 3);
    ck_assert_uint_eq(after.spins_won, before.spins_won);
    ck_assert_uint_eq(after.spins_lost, before.spins_lost);
    channel_close(&ends.parent);
    ck_assert(proc_join(&child, 10 * time_scale()));
}
END_TEST

START_TEST(no_spin_on_one_cpu)
{
    cpu_set_t all, one;
    ck_assert_int_eq(sched_getaffinity(0, sizeof all, &all), 0);
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &all)) {
            CPU_SET(cpu, &one);
            break;
        }
    ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
    ping_pong(200); /* the first channel_pair of this process reads the CPUs */
    struct channel_spin_stats stats = channel_spin_stats();
    ck_assert_uint_eq(stats.spins_won + stats.spins_lost + stats.peer_asleep, 0);
}
END_TEST

Suite *channel_spin_suite(void)
{
    Suite *suite = suite_create("channel_spin");
    TCase *spin = tcase_create("channel_spin");
    tcase_set_timeout(spin, 30);
    tcase_add_checked_fixture(spin, default_signals, NULL);
    tcase_add_test(spin, spinning_changes_no_message);
    tcase_add_test(spin, no_spin_while_the_peer_sleeps_waiting_for_us);
    tcase_add_test(spin, no_spin_on_one_cpu);
    suite_add_tcase(suite, spin);
    return suite;
}
