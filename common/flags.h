/* flags.h: one command-line parser, so every lab spells and checks its flags
 * the same way.
 *
 * A lab describes its flags in a table; flags_parse() fills the targets and
 * validates every value before anything runs.  Bad input is reported as one
 * line naming the flag and what it accepts, then a usage hint:
 *
 *     count: --workers: 'abc' is not a whole number; expected 1 to 1024
 *     Try 'count --help' for more information.
 *
 * and the program exits with status 2 (EXIT_USAGE), having run nothing.
 *
 * Accepted forms: `--name value` and `--name=value`.  Whole numbers are plain
 * digits, optionally with a k, M or G suffix (x1000, x1000000, x10^9), so
 * `--iterations 100M` is 100,000,000.  Decimal flags (FLAG_DECIMAL)
 * accept decimals (`--timeout 0.5`).  A value that starts with -- is taken
 * for a forgotten value (`--mode --workers 2`), not a value.  Out-of-range values, overflow
 * (`99999999999999999999`, `1e30`), signs, empty values, unknown flags,
 * missing values, stray arguments and repeated flags are all errors.
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
    bool given;                 /* set by the parser */
};

struct program {
    const char *name;        /* "count" */
    const char *synopsis;    /* one line: the experiment in a sentence */
    const char *description; /* paragraphs for --help: what to notice */
    const char *exit_notes;  /* lab-specific meaning of exit statuses, or NULL */
    struct flag *flags;      /* terminated by an entry with name == NULL */
};

/* The shared flags: the same name, range and help text in every lab. */
enum { REPEAT_MAX = 1000 }; /* --repeat's upper bound, for sizing arrays */
struct flag flag_workers(uint64_t *target, uint64_t max);
struct flag flag_iterations(uint64_t *target);
struct flag flag_repeat(uint64_t *target);
struct flag flag_warmup(uint64_t *target);
struct flag flag_timeout(double *target);
struct flag flag_csv(bool *target);
struct flag flag_seed(uint64_t *target);
#define FLAG_END ((struct flag){.name = NULL})

/* Parse argv into the table.  Returns 0 on success, 1 if --help was asked
 * for (nothing is printed: call flags_print_help), or -1 on bad input with
 * a one-line explanation in `error`. */
int flags_parse(struct program *program, int argc, char **argv, char *error,
                size_t error_size);

/* flags_parse for main(): prints help and exits 0 on --help, or reports
 * the error and exits EXIT_USAGE. */
void flags_parse_or_exit(struct program *program, int argc, char **argv);

/* For checks across flags that the table cannot express ("--gil needs
 * --mode thread"): prints "name: message" and the usage hint, exits 2. */
_Noreturn void flags_usage_error(const struct program *program,
                                 const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Was --name given on the command line? */
bool flags_given(const struct program *program, const char *name);

void flags_print_help(const struct program *program);

#endif
