/* test_flags.c: the command-line parser (common/flags.h).
 *
 * Every accepted form sets the target; every error class returns -1, leaves
 * the target at its default and explains itself in one line that names the
 * flag and what it accepts.  The exiting entry points (flags_parse_or_exit,
 * flags_usage_error) run in a sub-child whose exit status and output are
 * checked.
 */
#include "harness.h"

#include "checked.h"
#include "flags.h"
#include "timing.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- A lab-like table with distinctive defaults ------------------------- */

static const char *const mode_names[] = {"all", "serial", "thread", "process",
                                         NULL};

struct options {
    uint64_t workers, iterations, repeat, warmup, seed;
    double timeout, interval_ms;
    int mode;
    bool csv, gil;
};

/* Defaults no parse would produce by accident, so "kept its default" and
 * "the help shows the default" are checks that can fail. */
static const struct options defaults = {
    .workers = 7, .iterations = 123456, .repeat = 3, .warmup = 2, .seed = 99,
    .timeout = 2.5, .interval_ms = 5, .mode = 2, .csv = false, .gil = false};

static struct options options;
static struct flag table[16];
static struct program program;

static void fixture(void)
{
    options = defaults;
    int n = 0;
    table[n++] = (struct flag){.name = "mode", .type = FLAG_CHOICE,
                               .target = &options.mode, .choices = mode_names,
                               .value_name = "M", .help = "which runs"};
    table[n++] = (struct flag){.name = "gil", .type = FLAG_SWITCH,
                               .target = &options.gil,
                               .help = "run under the emulated GIL"};
    table[n++] = flag_workers(&options.workers, 1024);
    table[n++] = flag_iterations(&options.iterations);
    table[n++] = flag_repeat(&options.repeat);
    table[n++] = flag_warmup(&options.warmup);
    table[n++] = flag_seed(&options.seed);
    table[n++] = (struct flag){.name = "switch-interval", .type = FLAG_DECIMAL,
                               .target = &options.interval_ms, .low = 0.01,
                               .high = 10000, .value_name = "MS",
                               .help = "GIL switch interval in milliseconds"};
    table[n++] = flag_timeout(&options.timeout);
    table[n++] = flag_csv(&options.csv);
    table[n++] = FLAG_END;
    program = (struct program){.name = "labname",
                               .synopsis = "a lab for the tests",
                               .description = "What to notice: nothing.",
                               .exit_notes = "  5    lab-specific note",
                               .flags = table};
}

static char error[512];

/* flags_parse on ("labname", args..., NULL). */
static int parse(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"labname";
    va_list arguments;
    va_start(arguments, first);
    for (const char *a = first; a != NULL; a = va_arg(arguments, const char *)) {
        ck_assert_int_lt(argc, 31);
        argv[argc++] = (char *)a;
    }
    va_end(arguments);
    argv[argc] = NULL;
    strcpy(error, "(untouched)");
    return flags_parse(&program, argc, argv, error, sizeof error);
}

/* The parse failed with one line that contains every `needle`. */
static void expect_error(int rc, const char *needle, ...)
{
    ck_assert_msg(rc == -1, "flags_parse returned %d, expected -1", rc);
    ck_assert_msg(strchr(error, '\n') == NULL, "error is not one line: '%s'",
                  error);
    va_list arguments;
    va_start(arguments, needle);
    for (const char *n = needle; n != NULL; n = va_arg(arguments, const char *))
        ck_assert_msg(strstr(error, n) != NULL, "error '%s' lacks '%s'", error,
                      n);
    va_end(arguments);
}

static void expect_defaults_kept(void)
{
    ck_assert_uint_eq(options.workers, defaults.workers);
    ck_assert_uint_eq(options.iterations, defaults.iterations);
    ck_assert_uint_eq(options.seed, defaults.seed);
    ck_assert(options.timeout == defaults.timeout);
    ck_assert(options.interval_ms == defaults.interval_ms);
    ck_assert_int_eq(options.mode, defaults.mode);
    ck_assert(!options.csv);
}

/* ---- Accepted forms -------------------------------------------------------- */

START_TEST(space_and_equals_forms)
{
    ck_assert_int_eq(parse("--workers", "3", NULL), 0);
    ck_assert_uint_eq(options.workers, 3);
    fixture();
    ck_assert_int_eq(parse("--workers=12", NULL), 0);
    ck_assert_uint_eq(options.workers, 12);
    /* Untouched flags keep their defaults. */
    ck_assert_uint_eq(options.iterations, defaults.iterations);
    ck_assert(options.timeout == defaults.timeout);
}
END_TEST

START_TEST(suffixes_k_m_g)
{
    ck_assert_int_eq(parse("--iterations", "2k", NULL), 0);
    ck_assert_uint_eq(options.iterations, 2000);
    fixture();
    ck_assert_int_eq(parse("--iterations=5M", NULL), 0);
    ck_assert_uint_eq(options.iterations, 5000000);
    fixture();
    ck_assert_int_eq(parse("--iterations", "7G", NULL), 0);
    ck_assert_uint_eq(options.iterations, UINT64_C(7000000000));
    fixture();
    /* The maximum, 10^12, written with a suffix, is accepted... */
    ck_assert_int_eq(parse("--iterations", "1000G", NULL), 0);
    ck_assert_uint_eq(options.iterations, UINT64_C(1000000000000));
    /* ...one step beyond is out of range. */
    fixture();
    expect_error(parse("--iterations", "1001G", NULL), "--iterations",
                 "1001G", "1 to 1000000000000", NULL);
    /* A suffix applies once, in its own letter case only. */
    fixture();
    expect_error(parse("--iterations", "2kk", NULL), "--iterations", NULL);
    fixture();
    expect_error(parse("--iterations", "2K", NULL), "--iterations", NULL);
    fixture();
    expect_error(parse("--iterations", "k", NULL), "--iterations", NULL);
    expect_defaults_kept();
}
END_TEST

START_TEST(count_bounds)
{
    ck_assert_int_eq(parse("--workers", "1", NULL), 0);
    ck_assert_uint_eq(options.workers, 1);
    fixture();
    ck_assert_int_eq(parse("--workers", "1024", NULL), 0);
    ck_assert_uint_eq(options.workers, 1024);
    fixture();
    expect_error(parse("--workers", "1025", NULL), "--workers", "1025",
                 "1 to 1024", NULL);
    ck_assert_uint_eq(options.workers, defaults.workers);
    /* min 0 is allowed where the table says so. */
    fixture();
    ck_assert_int_eq(parse("--warmup", "0", NULL), 0);
    ck_assert_uint_eq(options.warmup, 0);
    /* The full 64-bit range where max is UINT64_MAX. */
    fixture();
    ck_assert_int_eq(parse("--seed", "18446744073709551615", NULL), 0);
    ck_assert_uint_eq(options.seed, UINT64_MAX);
    fixture();
    expect_error(parse("--seed", "18446744073709551616", NULL), "--seed",
                 "18446744073709551616", NULL);
    ck_assert_uint_eq(options.seed, defaults.seed);
}
END_TEST

START_TEST(seconds_decimals)
{
    ck_assert_int_eq(parse("--timeout", "0.5", NULL), 0);
    ck_assert(options.timeout == 0.5);
    fixture();
    ck_assert_int_eq(parse("--timeout=.25", NULL), 0);
    ck_assert(options.timeout == 0.25);
    fixture();
    ck_assert_int_eq(parse("--timeout", "12", NULL), 0);
    ck_assert(options.timeout == 12);
    fixture();
    ck_assert_int_eq(parse("--timeout", "0.01", NULL), 0); /* the low end */
    ck_assert(options.timeout == 0.01);
    fixture();
    ck_assert_int_eq(parse("--timeout", "86400", NULL), 0); /* the high end */
    ck_assert(options.timeout == 86400);
    fixture();
    expect_error(parse("--timeout", "0.009", NULL), "--timeout", "0.009",
                 "0.01 to 86400", NULL);
    fixture();
    expect_error(parse("--timeout", "86400.5", NULL), "--timeout", "86400.5",
                 "0.01 to 86400", NULL);
    fixture();
    expect_error(parse("--timeout", "0", NULL), "--timeout", "0.01 to 86400",
                 NULL);
    ck_assert(options.timeout == defaults.timeout);
    /* A unit other than seconds: the table's own range. */
    fixture();
    ck_assert_int_eq(parse("--switch-interval", "1.5", NULL), 0);
    ck_assert(options.interval_ms == 1.5);
}
END_TEST

START_TEST(choices_and_switches)
{
    ck_assert_int_eq(parse("--mode", "process", NULL), 0);
    ck_assert_int_eq(options.mode, 3);
    fixture();
    ck_assert_int_eq(parse("--mode=all", NULL), 0);
    ck_assert_int_eq(options.mode, 0);
    fixture();
    ck_assert_int_eq(parse("--csv", NULL), 0);
    ck_assert(options.csv);
    ck_assert(!options.gil);
    fixture();
    ck_assert_int_eq(parse("--gil", "--mode", "thread", "--csv", "--workers",
                           "2", "--timeout=3", NULL),
                     0);
    ck_assert(options.gil && options.csv);
    ck_assert_int_eq(options.mode, 2);
    ck_assert_uint_eq(options.workers, 2);
    ck_assert(options.timeout == 3);
    fixture();
    ck_assert_int_eq(parse(NULL), 0); /* nothing given: all defaults */
    expect_defaults_kept();
}
END_TEST

START_TEST(given)
{
    ck_assert_int_eq(parse("--workers", "3", "--csv", NULL), 0);
    ck_assert(flags_given(&program, "workers"));
    ck_assert(flags_given(&program, "csv"));
    ck_assert(!flags_given(&program, "timeout"));
    ck_assert(!flags_given(&program, "mode"));
    ck_assert(!flags_given(&program, "no-such-flag"));
    /* A given value equal to the default still counts as given. */
    ck_assert_int_eq(parse("--timeout", "2.5", NULL), 0);
    ck_assert(flags_given(&program, "timeout"));
    /* Each parse starts afresh. */
    ck_assert(!flags_given(&program, "workers"));
    ck_assert(!flags_given(&program, "csv"));
}
END_TEST

/* ---- Every error class ------------------------------------------------------ */

START_TEST(count_not_a_number)
{
    expect_error(parse("--workers", "abc", NULL), "--workers", "'abc'",
                 "1 to 1024", NULL);
    static const char *const bad[] = {"-1", "+3", " 3", "3 ", "3.0", "0x10",
                                      "1e3", "3w", "1,000"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fixture();
        expect_error(parse("--workers", bad[i], NULL), "--workers", bad[i],
                     "1 to 1024", NULL);
        expect_defaults_kept();
    }
}
END_TEST

START_TEST(count_zero_below_min)
{
    expect_error(parse("--workers", "0", NULL), "--workers", "0",
                 "1 to 1024", NULL);
    fixture();
    expect_error(parse("--repeat=0", NULL), "--repeat", "1 to 1000", NULL);
    expect_defaults_kept();
}
END_TEST

START_TEST(count_overflow)
{
    expect_error(parse("--workers", "99999999999999999999", NULL),
                 "--workers", "99999999999999999999", "1 to 1024", NULL);
    fixture();
    expect_error(parse("--iterations", "99999999999999999999", NULL),
                 "--iterations", "99999999999999999999", NULL);
    fixture();
    expect_error(parse("--workers", "1e30", NULL), "--workers", "1e30",
                 "1 to 1024", NULL);
    /* Overflow through the suffix: 2 * 10^19 > 2^64. */
    fixture();
    expect_error(parse("--seed", "20000000000G", NULL), "--seed", NULL);
    /* Wrapping modulo 2^64 would give 0 or a small value: must not pass. */
    fixture();
    expect_error(parse("--seed", "18446744073709551617", NULL), "--seed",
                 NULL);
    expect_defaults_kept();
}
END_TEST

START_TEST(seconds_bad_values)
{
    static const char *const bad[] = {
        "-1", "+1", "1e30", "1e-1", "99999999999999999999", "0x1p3", "0x10",
        "inf", "INF", "nan", "infinity", "1.2.3", ".", "1,5", " 1", "1s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fixture();
        expect_error(parse("--timeout", bad[i], NULL), "--timeout", bad[i],
                     "0.01 to 86400", NULL);
        expect_defaults_kept();
    }
    /* Plain digits: 10^40 is a finite double, out of range; 400 nines
     * overflow a double (strtod gives inf) and must be refused too. */
    char big[42], huge[401];
    big[0] = '1';
    memset(big + 1, '0', 40);
    big[41] = '\0';
    memset(huge, '9', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    fixture();
    expect_error(parse("--timeout", big, NULL), "--timeout", "out of range",
                 "0.01 to 86400", NULL);
    fixture();
    expect_error(parse("--timeout", huge, NULL), "--timeout", "0.01 to 86400",
                 NULL);
    expect_defaults_kept();
}
END_TEST

START_TEST(empty_value)
{
    expect_error(parse("--workers=", NULL), "--workers", "''", "1 to 1024",
                 NULL);
    fixture();
    expect_error(parse("--timeout=", NULL), "--timeout", "0.01 to 86400", NULL);
    fixture();
    expect_error(parse("--mode", "", NULL), "--mode", NULL);
    fixture();
    expect_error(parse("--workers", "", NULL), "--workers", "1 to 1024", NULL);
    expect_defaults_kept();
}
END_TEST

START_TEST(missing_value)
{
    expect_error(parse("--workers", NULL), "--workers", "missing",
                 "1 to 1024", NULL);
    fixture();
    expect_error(parse("--csv", "--timeout", NULL), "--timeout", "missing",
                 "0.01 to 86400", NULL);
    fixture();
    expect_error(parse("--mode", NULL), "--mode", "missing", "all", "process",
                 NULL);
    /* The next flag is not swallowed as the value: the value is missing. */
    fixture();
    expect_error(parse("--workers", "--csv", NULL), "--workers", "missing",
                 "1 to 1024", NULL);
    ck_assert(!options.csv);
}
END_TEST

START_TEST(unknown_flag)
{
    expect_error(parse("--bogus", "3", NULL), "unknown flag", "--bogus", NULL);
    fixture();
    expect_error(parse("--bogus=3", NULL), "unknown flag", "'--bogus'", NULL);
    ck_assert_ptr_null(strstr(error, "=3"));
    /* A prefix of a flag's name is not that flag. */
    fixture();
    expect_error(parse("--work", "3", NULL), "unknown flag", "'--work'", NULL);
    fixture();
    expect_error(parse("--workersx=3", NULL), "unknown flag", "--workersx",
                 NULL);
    expect_defaults_kept();
}
END_TEST

START_TEST(positional_argument)
{
    expect_error(parse("extra", NULL), "unexpected argument", "'extra'", NULL);
    fixture();
    expect_error(parse("--workers", "3", "4", NULL), "unexpected argument",
                 "'4'", NULL);
    fixture();
    expect_error(parse("-w", NULL), "unexpected argument", "'-w'", NULL);
    fixture();
    expect_error(parse("--", NULL), "unexpected argument", "'--'", NULL);
}
END_TEST

START_TEST(switch_with_value)
{
    expect_error(parse("--csv=1", NULL), "--csv", "no value", NULL);
    ck_assert(!options.csv);
    fixture();
    expect_error(parse("--gil=", NULL), "--gil", "no value", NULL);
    ck_assert(!options.gil);
}
END_TEST

START_TEST(repeated_flag)
{
    expect_error(parse("--workers", "3", "--workers", "4", NULL), "--workers",
                 "more than once", NULL);
    fixture();
    expect_error(parse("--csv", "--csv", NULL), "--csv", "more than once",
                 NULL);
    fixture();
    expect_error(parse("--timeout=1", "--timeout", "1", NULL), "--timeout",
                 "more than once", NULL);
}
END_TEST

START_TEST(unknown_choice)
{
    expect_error(parse("--mode", "threads", NULL), "--mode", "'threads'",
                 "all", "serial", "thread", "process", NULL);
    /* Case matters: a choice is matched exactly. */
    fixture();
    expect_error(parse("--mode=Serial", NULL), "--mode", "'Serial'", NULL);
    ck_assert_int_eq(options.mode, defaults.mode);
}
END_TEST

START_TEST(help_anywhere)
{
    ck_assert_int_eq(parse("--help", NULL), 1);
    ck_assert_int_eq(parse("-h", NULL), 1);
    ck_assert_int_eq(parse("--workers", "3", "--help", NULL), 1);
    /* --help wins even over a command line that is otherwise wrong. */
    ck_assert_int_eq(parse("--workers", "abc", "--bogus", "--help", NULL), 1);
    ck_assert_int_eq(parse("stray", "--help", "--csv=1", NULL), 1);
}
END_TEST

/* ---- The exiting entry points, in sub-children ------------------------------ */

struct argv_list {
    int argc;
    char *argv[8];
};

static int parse_or_exit_child(void *arg)
{
    struct argv_list *list = arg;
    flags_parse_or_exit(&program, list->argc, list->argv);
    printf("parsed workers=%llu\n", (unsigned long long)options.workers);
    return 0;
}

START_TEST(parse_or_exit_bad_input)
{
    struct argv_list list = {
        .argc = 3, .argv = {(char *)"labname", (char *)"--workers",
                            (char *)"abc", NULL}};
    struct sub_result *r = run_sub(parse_or_exit_child, &list, 5);
    ck_assert(!r->timed_out);
    ck_assert_msg(r->status == EXIT_USAGE, "exit %d, stderr: %s", r->status,
                  r->err);
    ck_assert_msg(r->out[0] == '\0', "stdout not empty: '%s'", r->out);
    ck_assert_int_eq(count_lines(r->err), 2);
    /* Line 1: the program's name, then the one-line explanation. */
    ck_assert_msg(strncmp(r->err, "labname: --workers: ", 20) == 0,
                  "stderr: %s", r->err);
    char *second = strchr(r->err, '\n') + 1;
    char first[1024];
    snprintf(first, sizeof first, "%.*s", (int)(second - r->err), r->err);
    ck_assert_msg(strstr(first, "'abc'") != NULL &&
                      strstr(first, "1 to 1024") != NULL,
                  "first line lacks the value or range: %s", first);
    ck_assert_str_eq(second, "Try 'labname --help' for more information.\n");
}
END_TEST

START_TEST(parse_or_exit_each_error_class)
{
    /* Every class exits 2 the same way, whatever the wording. */
    static const char *const cases[][3] = {
        {"--workers", "0", NULL},        {"--timeout", "1e30", NULL},
        {"--bogus", NULL, NULL},         {"stray", NULL, NULL},
        {"--csv=1", NULL, NULL},         {"--workers", NULL, NULL},
        {"--mode", "nope", NULL},        {"--csv", "--csv", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture();
        struct argv_list list = {.argc = 1, .argv = {(char *)"labname"}};
        for (int j = 0; j < 3 && cases[i][j]; j++)
            list.argv[list.argc++] = (char *)cases[i][j];
        list.argv[list.argc] = NULL;
        struct sub_result *r = run_sub(parse_or_exit_child, &list, 5);
        ck_assert_msg(r->status == EXIT_USAGE, "case %zu: exit %d", i,
                      r->status);
        ck_assert_msg(r->out[0] == '\0', "case %zu: stdout '%s'", i, r->out);
        ck_assert_msg(count_lines(r->err) == 2 &&
                          strncmp(r->err, "labname: ", 9) == 0 &&
                          strstr(r->err, "Try 'labname --help'") != NULL,
                      "case %zu: stderr '%s'", i, r->err);
    }
}
END_TEST

START_TEST(parse_or_exit_good_input_returns)
{
    struct argv_list list = {.argc = 2,
                             .argv = {(char *)"labname", (char *)"--workers=9"}};
    struct sub_result *r = run_sub(parse_or_exit_child, &list, 5);
    ck_assert_int_eq(r->status, 0);
    ck_assert_str_eq(r->out, "parsed workers=9\n");
    ck_assert_str_eq(r->err, "");
}
END_TEST

START_TEST(parse_or_exit_help)
{
    struct argv_list list = {.argc = 3,
                             .argv = {(char *)"labname", (char *)"--bogus",
                                      (char *)"--help"}};
    struct sub_result *r = run_sub(parse_or_exit_child, &list, 5);
    ck_assert_msg(r->status == EXIT_OK, "exit %d", r->status);
    ck_assert_str_eq(r->err, "");
    ck_assert_ptr_null(strstr(r->out, "parsed")); /* it exited */
    ck_assert_ptr_nonnull(strstr(r->out, "labname: a lab for the tests"));
}
END_TEST

static int usage_error_child(void *arg)
{
    (void)arg;
    flags_usage_error(&program, "--gil: only with --mode %s (got %d)",
                      "thread", 42);
}

START_TEST(usage_error_exits_2)
{
    struct sub_result *r = run_sub(usage_error_child, NULL, 5);
    ck_assert_int_eq(r->status, EXIT_USAGE);
    ck_assert_str_eq(r->out, "");
    ck_assert_str_eq(r->err, "labname: --gil: only with --mode thread (got 42)\n"
                             "Try 'labname --help' for more information.\n");
}
END_TEST

static int help_child(void *arg)
{
    (void)arg;
    flags_print_help(&program);
    return 0;
}

START_TEST(help_lists_every_flag_and_default)
{
    struct sub_result *r = run_sub(help_child, NULL, 5);
    ck_assert_int_eq(r->status, 0);
    ck_assert_str_eq(r->err, "");
    const char *out = r->out;
    /* Every flag of the table, spelled as typed, with its value name. */
    static const char *const spelled[] = {
        "--mode M", "--gil", "--workers W", "--iterations N", "--repeat R",
        "--warmup K", "--seed X", "--switch-interval MS", "--timeout S",
        "--csv", "--help"};
    for (size_t i = 0; i < sizeof spelled / sizeof spelled[0]; i++)
        ck_assert_msg(strstr(out, spelled[i]) != NULL, "help lacks '%s':\n%s",
                      spelled[i], out);
    /* Each default, as the target holds it now (not a fixed text). */
    static const char *const shown[] = {
        "(default thread)", "(default 7)", "(default 123456)", "(default 3)",
        "(default 2)", "(default 99)", "(default 5)", "(default 2.5)"};
    for (size_t i = 0; i < sizeof shown / sizeof shown[0]; i++)
        ck_assert_msg(strstr(out, shown[i]) != NULL, "help lacks '%s':\n%s",
                      shown[i], out);
    /* The accepted ranges, the exit statuses and the lab's own notes. */
    ck_assert_ptr_nonnull(strstr(out, "a whole number from 1 to 1024"));
    ck_assert_ptr_nonnull(strstr(out, "a number from 0.01 to 86400"));
    ck_assert_ptr_nonnull(strstr(out, "one of all, serial, thread, process"));
    ck_assert_ptr_nonnull(strstr(out, "What to notice: nothing."));
    ck_assert_ptr_nonnull(strstr(out, "Exit status:"));
    ck_assert_ptr_nonnull(strstr(out, "lab-specific note"));

    /* The default shown follows the target: change it, print again. */
    options.workers = 31;
    options.mode = 1;
    r = run_sub(help_child, NULL, 5);
    ck_assert_ptr_nonnull(strstr(r->out, "(default 31)"));
    ck_assert_ptr_nonnull(strstr(r->out, "(default serial)"));
    ck_assert_ptr_null(strstr(r->out, "(default 7)"));
}
END_TEST

/* ---- One line whatever the value (D8) -------------------------------------- */

START_TEST(newline_in_value_stays_one_line)
{
    expect_error(parse("--workers", "5\n6", NULL), "--workers", "'5\\n6'",
                 "1 to 1024", NULL);
    expect_error(parse("--mode", "a\tb\x01", NULL), "--mode", "'a\\tb\\x01'",
                 "one of all, serial, thread, process", NULL);
    expect_error(parse("stray\nline", NULL), "'stray\\nline'", NULL);
    expect_error(parse("--bo\ngus", NULL), "'--bo\\ngus'", NULL);
}
END_TEST

START_TEST(huge_value_is_cut_and_the_range_kept)
{
    static char huge[100001];
    memset(huge, '9', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    expect_error(parse("--workers", huge, NULL), "--workers",
                 "(100000 characters)", "a whole number from 1 to 1024",
                 NULL);
    ck_assert_msg(strlen(error) < 200, "%zu bytes: %s", strlen(error), error);
    huge[50] = 'x';
    expect_error(parse("--timeout", huge, NULL), "--timeout",
                 "(100000 characters)", "a number from 0.01 to 86400", NULL);
    expect_error(parse("--mode", huge, NULL), "--mode", "(100000 characters)",
                 "one of all, serial, thread, process", NULL);
}
END_TEST

START_TEST(every_flag_error_names_what_is_accepted)
{
    expect_error(parse("--workers", "2", "--workers", "3", NULL), "--workers",
                 "more than once", "1 to 1024", NULL);
    expect_error(parse("--csv=yes", NULL), "--csv", "takes no value",
                 "--csv alone", NULL);
    expect_error(parse("--seed", NULL), "--seed", "missing value",
                 "a whole number from 0", NULL);
}
END_TEST

/* ---- The defaults --help shows, and --list-flags ----------------------------- */

static uint64_t own_workers, random_seed;

static int help_with_text_defaults(void *arg)
{
    (void)arg;
    struct flag flags[] = {
        {.name = "workers", .type = FLAG_COUNT, .target = &own_workers,
         .min = 1, .max = 64, .value_name = "W", .help = "workers",
         .default_text = FLAG_DEFAULT_OWN},
        flag_seed_random(&random_seed), FLAG_END};
    struct program p = {.name = "labname", .synopsis = "s",
                        .description = "d", .flags = flags};
    flags_print_help(&p);
    return 0;
}

START_TEST(help_shows_a_text_default_not_the_sentinel)
{
    struct sub_result *r = run_sub(help_with_text_defaults, NULL, 5);
    ck_assert_int_eq(r->status, 0);
    ck_assert_msg(strstr(r->out, "(default: the experiment's own)") != NULL,
                  "%s", r->out);
    ck_assert_msg(strstr(r->out, "(default: random, printed)") != NULL, "%s",
                  r->out);
    ck_assert_msg(strstr(r->out, "(default 0)") == NULL, "%s", r->out);
}
END_TEST

START_TEST(list_flags_is_the_table)
{
    ck_assert_int_eq(parse("--workers", "x", "--list-flags", NULL), 1);
    ck_assert(program.listing);
    ck_assert_int_eq(parse("--help", NULL), 1);
    ck_assert(!program.listing);
    struct argv_list list = {
        .argc = 2, .argv = {(char *)"labname", (char *)"--list-flags"}};
    struct sub_result *r = run_sub(parse_or_exit_child, &list, 5);
    ck_assert_int_eq(r->status, 0);
    ck_assert_str_eq(r->err, "");
    ck_assert_int_eq(count_lines(r->out), 10); /* every flag of the table */
    static const char *const lines[] = {
        "--mode\tchoice\tall,serial,thread,process\n", "--gil\tswitch\n",
        "--workers\tcount\t1\t1024\n", "--warmup\tcount\t0\t100\n",
        "--seed\tcount\t0\t18446744073709551615\n",
        "--timeout\tdecimal\t0.01\t86400\n", "--csv\tswitch\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        ck_assert_msg(strstr(r->out, lines[i]) != NULL, "no '%s' in:\n%s",
                      lines[i], r->out);
}
END_TEST

/* ---- stdout checked at exit (D7) -------------------------------------------- */

enum output_case { OUTPUT_FINE, OUTPUT_FULL, OUTPUT_CLOSED, OUTPUT_HELP_FULL };

/* A lab's main(): parse, print, return through exit() (atexit runs). */
static int lab_like_child(void *arg)
{
    enum output_case how = *(const enum output_case *)arg;
    if (how == OUTPUT_FULL || how == OUTPUT_HELP_FULL) {
        int full = open("/dev/full", O_WRONLY);
        if (full < 0 || dup2(full, STDOUT_FILENO) < 0)
            return 90;
        close(full);
    }
    if (how == OUTPUT_CLOSED)
        close(STDOUT_FILENO);
    struct argv_list list = {.argc = 1, .argv = {(char *)"labname"}};
    if (how == OUTPUT_HELP_FULL)
        list.argv[list.argc++] = (char *)"--help";
    flags_parse_or_exit(&program, list.argc, list.argv);
    if (how == OUTPUT_CLOSED) {
        /* Descriptor 1 is held (by /dev/null, read-only): a file opened
         * now cannot take it and receive the lab's output. */
        int fd = open("/dev/null", O_WRONLY);
        if (fd == STDOUT_FILENO)
            return 91;
        close(fd);
    }
    printf("a result row\n");
    exit(EXIT_OK);
}

static struct sub_result *run_lab_like(enum output_case how)
{
    static enum output_case chosen;
    chosen = how;
    return run_sub(lab_like_child, &chosen, 5);
}

START_TEST(stdout_write_error_exits_4_with_one_line)
{
    static const enum output_case failing[] = {OUTPUT_FULL, OUTPUT_CLOSED,
                                               OUTPUT_HELP_FULL};
    static const char *const reasons[] = {"No space left on device",
                                          "Bad file descriptor",
                                          "No space left on device"};
    for (int i = 0; i < 3; i++) {
        struct sub_result *r = run_lab_like(failing[i]);
        ck_assert_msg(r->status == EXIT_SYSTEM, "case %d: exit %d, stderr %s",
                      i, r->status, r->err);
        ck_assert_int_eq(count_lines(r->err), 1);
        ck_assert_msg(strncmp(r->err, "labname: cannot write standard output: ",
                              39) == 0 &&
                          strstr(r->err, reasons[i]) != NULL,
                      "case %d: stderr %s", i, r->err);
    }
    struct sub_result *r = run_lab_like(OUTPUT_FINE);
    ck_assert_msg(r->status == 0, "exit %d, stderr %s", r->status, r->err);
    ck_assert_str_eq(r->out, "a result row\n");
    ck_assert_str_eq(r->err, "");
}
END_TEST

/* FLAG_TEXT (lab 09's --url): any non-empty text, pointing into argv. */
START_TEST(text_flag)
{
    const char *url = NULL;
    struct flag texts[] = {{.name = "url", .type = FLAG_TEXT, .target = &url,
                            .value_name = "URL", .help = "where"},
                           FLAG_END};
    struct program p = {.name = "labname", .synopsis = "s", .description = "d",
                        .flags = texts};
    char *ok[] = {"labname", "--url", "http://127.0.0.1:80/", NULL};
    ck_assert_int_eq(flags_parse(&p, 3, ok, error, sizeof error), 0);
    ck_assert_str_eq(url, "http://127.0.0.1:80/");
    ck_assert(flags_given(&p, "url"));
    char *equals[] = {"labname", "--url=a b", NULL};
    ck_assert_int_eq(flags_parse(&p, 2, equals, error, sizeof error), 0);
    ck_assert_str_eq(url, "a b");
    char *empty[] = {"labname", "--url=", NULL};
    ck_assert_int_eq(flags_parse(&p, 2, empty, error, sizeof error), -1);
    ck_assert_msg(strstr(error, "--url") != NULL && strstr(error, "a non-empty text") != NULL,
                  "%s", error);
    char *missing[] = {"labname", "--url", NULL};
    ck_assert_int_eq(flags_parse(&p, 2, missing, error, sizeof error), -1);
    ck_assert_msg(strstr(error, "--url: missing value") != NULL, "%s", error);
}
END_TEST

Suite *flags_suite(void)
{
    Suite *suite = suite_create("flags");

    TCase *accepted = tcase_create("flags_accepted");
    tcase_add_checked_fixture(accepted, fixture, NULL);
    tcase_set_timeout(accepted, 5);
    tcase_add_test(accepted, space_and_equals_forms);
    tcase_add_test(accepted, suffixes_k_m_g);
    tcase_add_test(accepted, count_bounds);
    tcase_add_test(accepted, seconds_decimals);
    tcase_add_test(accepted, choices_and_switches);
    tcase_add_test(accepted, given);
    tcase_add_test(accepted, text_flag);
    suite_add_tcase(suite, accepted);

    TCase *errors = tcase_create("flags_errors");
    tcase_add_checked_fixture(errors, fixture, NULL);
    tcase_set_timeout(errors, 5);
    tcase_add_test(errors, count_not_a_number);
    tcase_add_test(errors, count_zero_below_min);
    tcase_add_test(errors, count_overflow);
    tcase_add_test(errors, seconds_bad_values);
    tcase_add_test(errors, empty_value);
    tcase_add_test(errors, missing_value);
    tcase_add_test(errors, unknown_flag);
    tcase_add_test(errors, positional_argument);
    tcase_add_test(errors, switch_with_value);
    tcase_add_test(errors, repeated_flag);
    tcase_add_test(errors, unknown_choice);
    tcase_add_test(errors, help_anywhere);
    tcase_add_test(errors, newline_in_value_stays_one_line);
    tcase_add_test(errors, huge_value_is_cut_and_the_range_kept);
    tcase_add_test(errors, every_flag_error_names_what_is_accepted);
    suite_add_tcase(suite, errors);

    TCase *exiting = tcase_create("flags_exit");
    tcase_add_checked_fixture(exiting, fixture, NULL);
    tcase_set_timeout(exiting, 10);
    tcase_add_test(exiting, parse_or_exit_bad_input);
    tcase_add_test(exiting, parse_or_exit_each_error_class);
    tcase_add_test(exiting, parse_or_exit_good_input_returns);
    tcase_add_test(exiting, parse_or_exit_help);
    tcase_add_test(exiting, usage_error_exits_2);
    tcase_add_test(exiting, help_lists_every_flag_and_default);
    tcase_add_test(exiting, help_shows_a_text_default_not_the_sentinel);
    tcase_add_test(exiting, list_flags_is_the_table);
    tcase_add_test(exiting, stdout_write_error_exits_4_with_one_line);
    suite_add_tcase(suite, exiting);
    return suite;
}
