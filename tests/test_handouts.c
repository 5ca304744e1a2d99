/* test_handouts.c: the transcript check (scripts/check-handouts.pl) can
 * fail.  `make test` replays every handout's transcripts with it; these
 * tests feed it small handouts of known shape, so a checker that passed
 * everything (or failed everything) would be caught here. */
#define _GNU_SOURCE
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SOURCE_DIR
#define SOURCE_DIR "."
#endif

static char handout[4096];

static int run_checker(void *arg)
{
    (void)arg;
    execl("/usr/bin/perl", "perl", SOURCE_DIR "/scripts/check-handouts.pl",
          handout, (char *)NULL);
    perror("exec perl");
    return 127;
}

/* Write `text` as a handout in a private directory, run the checker on
 * it, and return its result (static storage). */
static struct sub_result *check(const char *text)
{
    const char *tmp = getenv("TMPDIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/handout-test-XXXXXX", tmp ? tmp : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(handout, sizeof handout, "%s/README.md", dir);
    FILE *file = fopen(handout, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
    struct sub_result *result = run_sub(run_checker, NULL, 60);
    unlink(handout);
    rmdir(dir);
    ck_assert_msg(!result->timed_out, "the checker did not finish");
    return result;
}

#define FENCE "```\n"

START_TEST(a_matching_transcript_passes)
{
    /* Numbers, units and temporary paths are masked: 7 matches 1, "3 ms"
     * matches "2.5 s", blanks count as one. */
    struct sub_result *r = check("# Lab\n\n" FENCE
                                 "$ printf 'a 1\\nelapsed 2.5 s\\nfile /tmp/x-AbC12/db\\n'\n"
                                 "a 7\n"
                                 "elapsed   3 ms\n"
                                 "file /tmp/y-QQQQQ9/db\n"
                                 "$ (exit 3)\n"
                                 "$ echo $?\n"
                                 "3\n" FENCE);
    ck_assert_msg(r->status == 0, "exit %d: %s%s", r->status, r->out, r->err);
    ck_assert_ptr_nonnull(strstr(r->out, "1 passed, 0 failed, 0 skipped"));
}
END_TEST

START_TEST(one_changed_line_fails_and_is_named)
{
    struct sub_result *r = check("# Lab\n\n" FENCE
                                 "$ printf 'sold 1, left 0: correct\\n'\n"
                                 "sold 2, left 0: OVERSOLD by 1\n" FENCE);
    ck_assert_msg(r->status == 1, "exit %d: %s", r->status, r->out);
    ck_assert_msg(strstr(r->out, "README.md:5: $ printf") != NULL,
                  "the failure must name the handout line that differs: %s",
                  r->out);
    ck_assert_msg(strstr(r->out, "program: sold 1, left 0: correct") != NULL,
                  "the failure must show what the program printed: %s", r->out);
    ck_assert_ptr_nonnull(strstr(r->out, "0 passed, 1 failed"));
}
END_TEST

/* An exit status is compared exactly, and the checker's own bookkeeping
 * between commands must not reset it. */
START_TEST(an_exit_status_must_match_exactly)
{
    struct sub_result *r = check("# Lab\n\n" FENCE "$ (exit 3)\n"
                                 "$ echo $?\n0\n" FENCE);
    ck_assert_msg(r->status == 1, "exit 3 shown as 0 passed: %s", r->out);
    ck_assert_msg(strstr(r->out, "program: 3") != NULL, "%s", r->out);
}
END_TEST

START_TEST(a_missing_or_extra_line_fails)
{
    struct sub_result *missing = check("# Lab\n\n" FENCE "$ printf 'a\\n'\n"
                                       "a\nb\n" FENCE);
    ck_assert_msg(missing->status == 1, "a line the program no longer prints: %s",
                  missing->out);
    struct sub_result *extra = check("# Lab\n\n" FENCE "$ printf 'a\\nb\\n'\n"
                                     "a\n" FENCE);
    ck_assert_msg(extra->status == 1, "a line the handout does not show: %s",
                  extra->out);
}
END_TEST

START_TEST(dots_stand_for_any_lines)
{
    struct sub_result *r = check("# Lab\n\n" FENCE "$ seq 1 5; echo done\n"
                                 "1\n  ...\ndone\n" FENCE);
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->out);
}
END_TEST

START_TEST(unordered_compares_lines_in_any_order)
{
    const char *block = FENCE "$ printf 'b\\na\\n'\na\nb\n" FENCE;
    char text[512];
    snprintf(text, sizeof text, "# Lab\n\n%s", block);
    ck_assert_int_eq(check(text)->status, 1);
    snprintf(text, sizeof text, "# Lab\n\n<!-- transcript: unordered -->\n%s",
             block);
    struct sub_result *r = check(text);
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->out);
}
END_TEST

START_TEST(skip_runs_nothing_and_says_why)
{
    struct sub_result *r = check("# Lab\n\n<!-- transcript: skip needs root -->\n"
                                 FENCE "$ exit 1\nnever printed\n" FENCE
                                 FENCE "not a transcript: never run\n" FENCE);
    ck_assert_msg(r->status == 0, "exit %d: %s", r->status, r->out);
    ck_assert_ptr_nonnull(strstr(r->out, "skip  "));
    ck_assert_ptr_nonnull(strstr(r->out, "(needs root)"));
    ck_assert_ptr_nonnull(strstr(r->out, "0 passed, 0 failed, 1 skipped"));
}
END_TEST

START_TEST(a_file_left_in_tmpdir_fails)
{
    struct sub_result *r = check("# Lab\n\n" FENCE
                                 "$ touch \"$TMPDIR/leftover\"\n" FENCE);
    ck_assert_msg(r->status == 1, "exit %d: %s", r->status, r->out);
    ck_assert_ptr_nonnull(strstr(r->out, "left files in its TMPDIR"));
}
END_TEST

Suite *handouts_suite(void)
{
    Suite *suite = suite_create("handouts");
    TCase *tc = tcase_create("transcripts");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_matching_transcript_passes);
    tcase_add_test(tc, one_changed_line_fails_and_is_named);
    tcase_add_test(tc, a_missing_or_extra_line_fails);
    tcase_add_test(tc, an_exit_status_must_match_exactly);
    tcase_add_test(tc, dots_stand_for_any_lines);
    tcase_add_test(tc, unordered_compares_lines_in_any_order);
    tcase_add_test(tc, skip_runs_nothing_and_says_why);
    tcase_add_test(tc, a_file_left_in_tmpdir_fails);
    suite_add_tcase(suite, tc);
    return suite;
}
