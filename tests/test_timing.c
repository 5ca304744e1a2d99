/* test_timing.c: the monotonic clock and stats_of (common/timing.h). */
#include "harness.h"

#include "timing.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#ifndef VARIANT
#define VARIANT ""
#endif

/* ---- stats_of --------------------------------------------------------------- */

START_TEST(stats_odd_count)
{
    const double samples[] = {5, 1, 3}; /* unsorted on purpose */
    struct stats s = stats_of(samples, 3);
    ck_assert_int_eq(s.count, 3);
    ck_assert_double_eq(s.min, 1);
    ck_assert_double_eq(s.max, 5);
    ck_assert_double_eq(s.median, 3);
    ck_assert_double_eq_tol(s.mean, 3, 1e-12);
    /* Sample stddev: sqrt(((5-3)^2 + (1-3)^2 + 0) / (3-1)) = 2.
     * (The population formula, / 3, would give 1.633.) */
    ck_assert_double_eq_tol(s.stddev, 2, 1e-12);
}
END_TEST

START_TEST(stats_even_count)
{
    const double samples[] = {4, 10, 1, 2}; /* sorted: 1 2 4 10 */
    struct stats s = stats_of(samples, 4);
    ck_assert_int_eq(s.count, 4);
    ck_assert_double_eq(s.min, 1);
    ck_assert_double_eq(s.max, 10);
    ck_assert_double_eq_tol(s.median, 3, 1e-12); /* (2 + 4) / 2 */
    ck_assert_double_eq_tol(s.mean, 4.25, 1e-12);
    /* deviations -3.25 -2.25 -0.25 5.75: squares sum 48.75, / 3 = 16.25 */
    ck_assert_double_eq_tol(s.stddev, sqrt(16.25), 1e-12);
}
END_TEST

START_TEST(stats_single_sample)
{
    const double sample = 0.125;
    struct stats s = stats_of(&sample, 1);
    ck_assert_int_eq(s.count, 1);
    ck_assert_double_eq(s.min, 0.125);
    ck_assert_double_eq(s.median, 0.125);
    ck_assert_double_eq(s.mean, 0.125);
    ck_assert_double_eq(s.max, 0.125);
    ck_assert_double_eq(s.stddev, 0); /* not NaN from a division by n-1 = 0 */
}
END_TEST

START_TEST(stats_negative_and_ties)
{
    const double samples[] = {-2, 7, -2, 7, 0};
    struct stats s = stats_of(samples, 5);
    ck_assert_double_eq(s.min, -2);
    ck_assert_double_eq(s.max, 7);
    ck_assert_double_eq(s.median, 0);
    ck_assert_double_eq_tol(s.mean, 2, 1e-12);
    /* squares: 16 25 16 25 4 = 86, / 4 = 21.5 */
    ck_assert_double_eq_tol(s.stddev, sqrt(21.5), 1e-12);

    const double same[] = {3.5, 3.5, 3.5, 3.5};
    s = stats_of(same, 4);
    ck_assert_double_eq(s.median, 3.5);
    ck_assert_double_eq(s.stddev, 0);
}
END_TEST

START_TEST(stats_does_not_modify_input)
{
    double samples[101];
    for (int i = 0; i < 101; i++) /* a scrambled permutation of 0..100 */
        samples[i] = (double)((i * 37) % 101);
    double copy[101];
    memcpy(copy, samples, sizeof samples);
    struct stats s = stats_of(samples, 101);
    ck_assert_mem_eq(samples, copy, sizeof samples);
    ck_assert_double_eq(s.min, 0);
    ck_assert_double_eq(s.max, 100);
    ck_assert_double_eq(s.median, 50);
    ck_assert_double_eq_tol(s.mean, 50, 1e-9);
    /* Sample variance of 0..n-1 is n(n+1)/12 with n = 101. */
    ck_assert_double_eq_tol(s.stddev, sqrt(101.0 * 102.0 / 12.0), 1e-9);
}
END_TEST

/* ---- The clock ---------------------------------------------------------------- */

START_TEST(clock_monotonic_non_decreasing)
{
    /* Count in the loop, assert once: each ck_assert costs a message to
     * the runner. */
    double previous = clock_seconds(), first = previous;
    uint64_t previous_ns = clock_nanoseconds();
    int backwards = 0, backwards_ns = 0;
    for (int i = 0; i < 200000; i++) {
        double now = clock_seconds();
        uint64_t now_ns = clock_nanoseconds();
        backwards += now < previous;
        backwards_ns += now_ns < previous_ns;
        previous = now;
        previous_ns = now_ns;
    }
    ck_assert_msg(backwards == 0, "clock_seconds went back %d times",
                  backwards);
    ck_assert_msg(backwards_ns == 0, "clock_nanoseconds went back %d times",
                  backwards_ns);
    ck_assert_double_gt(previous, first); /* and it did advance */
    /* It is CLOCK_MONOTONIC, in seconds and in nanoseconds alike. */
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double mono = (double)t.tv_sec + (double)t.tv_nsec / 1e9;
    ck_assert_double_le(fabs(clock_seconds() - mono), 0.5);
    ck_assert_double_le(fabs((double)clock_nanoseconds() / 1e9 - mono), 0.5);
}
END_TEST

START_TEST(clock_sleep_at_least)
{
    static const double asked[] = {0.001, 0.02, 0.15};
    for (int i = 0; i < 3; i++) {
        double start = clock_seconds();
        clock_sleep(asked[i]);
        double slept = clock_seconds() - start;
        /* At least the time asked (1 us of slack for the double rounding of
         * the two clock readings), at most a generous bound. */
        ck_assert_msg(slept >= asked[i] - 1e-6, "asked %g s, slept %.6f s",
                      asked[i], slept);
        ck_assert_msg(slept < asked[i] + 1.5 * time_scale(),
                      "asked %g s, slept %.6f s", asked[i], slept);
    }
    /* Zero and negative durations return at once. */
    double start = clock_seconds();
    clock_sleep(0);
    clock_sleep(-1);
    ck_assert_double_lt(clock_seconds() - start, 0.5 * time_scale());
}
END_TEST

static volatile sig_atomic_t interruptions;
static void count_interruption(int signal_number)
{
    (void)signal_number;
    interruptions++;
}

START_TEST(clock_sleep_resumes_after_signals)
{
    /* A handler without SA_RESTART, fired every 10 ms by a timer: each one
     * interrupts the sleep with EINTR.  The sleep must still last. */
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = count_interruption;
    sigemptyset(&action.sa_mask);
    ck_assert_int_eq(sigaction(SIGUSR1, &action, NULL), 0);
    struct sigevent event;
    memset(&event, 0, sizeof event);
    event.sigev_notify = SIGEV_SIGNAL;
    event.sigev_signo = SIGUSR1;
    timer_t timer;
    ck_assert_int_eq(timer_create(CLOCK_MONOTONIC, &event, &timer), 0);
    struct itimerspec every = {.it_value = {.tv_nsec = 10000000},
                               .it_interval = {.tv_nsec = 10000000}};
    ck_assert_int_eq(timer_settime(timer, 0, &every, NULL), 0);

    double start = clock_seconds();
    clock_sleep(0.2);
    double slept = clock_seconds() - start;
    timer_delete(timer);

    /* ThreadSanitizer defers signals until the sleep is over, so only the
     * other builds can check that the sleep really was interrupted. */
    if (strcmp(VARIANT, "tsan") != 0)
        ck_assert_msg(interruptions >= 3, "only %d interruptions: the test "
                      "did not exercise EINTR", (int)interruptions);
    ck_assert_msg(slept >= 0.2 - 1e-6, "slept %.6f s of 0.2 s", slept);
    ck_assert_msg(slept < 0.2 + 1.5 * time_scale(), "slept %.6f s", slept);
}
END_TEST

Suite *timing_suite(void)
{
    Suite *suite = suite_create("timing");
    TCase *stats = tcase_create("stats");
    tcase_set_timeout(stats, 5);
    tcase_add_test(stats, stats_odd_count);
    tcase_add_test(stats, stats_even_count);
    tcase_add_test(stats, stats_single_sample);
    tcase_add_test(stats, stats_negative_and_ties);
    tcase_add_test(stats, stats_does_not_modify_input);
    suite_add_tcase(suite, stats);

    TCase *clock = tcase_create("clock");
    tcase_set_timeout(clock, 8);
    tcase_add_test(clock, clock_monotonic_non_decreasing);
    tcase_add_test(clock, clock_sleep_at_least);
    tcase_add_test(clock, clock_sleep_resumes_after_signals);
    suite_add_tcase(suite, clock);
    return suite;
}
