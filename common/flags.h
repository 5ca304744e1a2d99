/* flags.h: one command-line parser, so every lab spells and checks its flags
 * the same way.
 *
 * A lab describes its flags in a table; flags_parse() fills the targets and
 * validates every value before anything runs.  Bad input is reported as one
 * line naming the flag and what it accepts, then a usage hint:
 *
 *     count: --workers: 'abc' is not a whole number from 1 to 1024
 *     Try 'count --help' for more information.
 *
 * and the program exits with status 2 (EXIT_USAGE), having run nothing.
 * The line stays one line whatever the value: it is shown quoted, escaped
 * (\n, \xNN) and cut at 40 characters, and the accepted range is always
 * there.
 *
 * Accepted forms: `--name value` and `--name=value`.  Whole numbers are plain
 * digits, optionally with a k, M or G suffix (x1000, x1000000, x10^9), so
 * `--iterations 100M` is 100,000,000.  Decimal flags (FLAG_DECIMAL)
 * accept decimals (`--timeout 0.5`).  A value that starts with -- is taken
 * for a forgotten value (`--mode --workers 2`), not a value.  Out-of-range values, overflow
 * (`99999999999999999999`, `1e30`), signs, empty values, unknown flags,
 * missing values, stray arguments and repeated flags are all errors.
 *
 * Every lab also answers `--list-flags` (flags_print_table): the table in a
 * form for scripts, from which the fault suite builds its bad input.
 */
#ifndef COMMON_FLAGS_H
#define COMMON_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flag_type {
    FLAG_SWITCH,  /* takes no value; target: bool */
    FLAG_COUNT,   /* whole number in [min, max]; target: uint64_t */
    FLAG_DECIMAL, /* decimal number in [low, high] (seconds, ms...); target: double */
    FLAG_CHOICE,  /* one of `choices`; target: int, the index */
    FLAG_TEXT,    /* any non-empty text (a URL, a path, a list the lab
                     parses); target: const char *, pointing into argv */
    FLAG_LIST,    /* comma-separated whole numbers in [min, max] ("0,64,256");
                     target: struct flag_list */
};

enum { FLAG_LIST_MAX = 16 };
struct flag_list {
    int count;
    uint64_t values[FLAG_LIST_MAX];
};

struct flag {
    const char *name;           /* spelled --name on the command line */
    enum flag_type type;
    void *target;               /* where the value goes; keeps its default */
    uint64_t min, max;          /* FLAG_COUNT */
    double low, high;           /* FLAG_DECIMAL */
    const char *const *choices; /* FLAG_CHOICE, NULL-terminated */
    const char *value_name;     /* shown in --help: "W", "N", "S" */
    const char *help;           /* one line */
    /* What --help says the default is, when the target's initial value is
     * not it: a sentinel the lab replaces (a count of 0 under a range
     * from 1), or a value drawn when the flag is absent.  Shown as
     * "(default: TEXT)".  Use FLAG_DEFAULT_OWN or FLAG_DEFAULT_RANDOM, or
     * a text of your own; NULL shows the target's value. */
    const char *default_text;
    bool given;                 /* set by the parser */
};

struct program {
    const char *name;        /* "count" */
    const char *synopsis;    /* one line: the experiment in a sentence */
    const char *description; /* paragraphs for --help: what to notice */
    const char *exit_notes;  /* lab-specific meaning of exit statuses, or NULL */
    struct flag *flags;      /* terminated by an entry with name == NULL */
    bool listing;            /* set by flags_parse: --list-flags, not --help */
};

/* default_text for a flag whose default each experiment (mode, scenario)
 * chooses, and for a seed drawn at random when absent (the run must then
 * print the seed it drew, so it can be repeated). */
#define FLAG_DEFAULT_OWN "the experiment's own"
#define FLAG_DEFAULT_RANDOM "random, printed"

/* The shared flags: the same name, range and help text in every lab. */
enum { REPEAT_MAX = 1000 }; /* --repeat's upper bound, for sizing arrays */
struct flag flag_workers(uint64_t *target, uint64_t max);
struct flag flag_iterations(uint64_t *target);
struct flag flag_repeat(uint64_t *target);
struct flag flag_warmup(uint64_t *target);
struct flag flag_timeout(double *target);
struct flag flag_csv(bool *target);
struct flag flag_seed(uint64_t *target);
/* A seed the lab draws at random when --seed is absent (and prints, so the
 * run can be repeated): --help says "(default: random, printed)". */
struct flag flag_seed_random(uint64_t *target);
#define FLAG_END ((struct flag){.name = NULL})

/* Parse argv into the table.  Returns 0 on success, 1 if --help or
 * --list-flags was asked for (nothing is printed: call flags_print_help,
 * which prints the one asked for), or -1 on bad input with a one-line
 * explanation in `error`: the flag, the value as given (quoted,
 * non-printable bytes escaped, cut at 40 characters with its length), and
 * what it accepts.  It first calls output_guard() (output.h), since every
 * lab parses its flags first: the lab's stdout is then flushed and checked
 * at exit, a write error is one line on stderr and exit 4. */
int flags_parse(struct program *program, int argc, char **argv, char *error,
                size_t error_size);

/* flags_parse for main(): prints help (or the table) and exits 0 on --help
 * (--list-flags), or reports the error and exits EXIT_USAGE. */
void flags_parse_or_exit(struct program *program, int argc, char **argv);

/* For checks across flags that the table cannot express ("--gil needs
 * --mode thread"): prints "name: message" and the usage hint, exits 2. */
_Noreturn void flags_usage_error(const struct program *program,
                                 const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Was --name given on the command line? */
bool flags_given(const struct program *program, const char *name);

/* The help; or, after flags_parse saw --list-flags, the table. */
void flags_print_help(const struct program *program);

/* --list-flags: the table in a form for scripts and tests, one line per
 * flag, fields separated by one tab:
 *     --workers<TAB>count<TAB>1<TAB>1024
 *     --timeout<TAB>decimal<TAB>0.01<TAB>86400
 *     --mode<TAB>choice<TAB>all,serial,thread,process
 *     --csv<TAB>switch
 *     --trace<TAB>text
 * (--help and --list-flags themselves are not listed.)  tests/test_fault.c
 * generates every binary's bad command lines from it. */
void flags_print_table(const struct program *program);

#endif
