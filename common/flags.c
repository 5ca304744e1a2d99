/* flags.c: table-driven parsing and validation of command lines. */
#include "flags.h"

#include "checked.h"
#include "output.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct flag flag_workers(uint64_t *target, uint64_t max)
{
    return (struct flag){.name = "workers", .type = FLAG_COUNT,
                         .target = target, .min = 1, .max = max,
                         .value_name = "W",
                         .help = "how many workers (threads or processes)"};
}

struct flag flag_iterations(uint64_t *target)
{
    return (struct flag){.name = "iterations", .type = FLAG_COUNT,
                         .target = target, .min = 1,
                         .max = UINT64_C(1000000000000), .value_name = "N",
                         .help = "work per worker, in loop iterations "
                                 "(k, M, G suffixes allowed)"};
}

struct flag flag_repeat(uint64_t *target)
{
    return (struct flag){.name = "repeat", .type = FLAG_COUNT,
                         .target = target, .min = 1, .max = REPEAT_MAX,
                         .value_name = "R",
                         .help = "measured repetitions (the median is "
                                 "reported, with min and max)"};
}

struct flag flag_warmup(uint64_t *target)
{
    return (struct flag){.name = "warmup", .type = FLAG_COUNT,
                         .target = target, .min = 0, .max = 100,
                         .value_name = "K",
                         .help = "unmeasured runs first (caches, page "
                                 "faults, CPU frequency)"};
}

struct flag flag_timeout(double *target)
{
    return (struct flag){.name = "timeout", .type = FLAG_DECIMAL,
                         .target = target, .low = 0.01, .high = 86400,
                         .value_name = "S",
                         .help = "watchdog: stop the run after S seconds "
                                 "(exit 3), killing every child"};
}

struct flag flag_csv(bool *target)
{
    return (struct flag){.name = "csv", .type = FLAG_SWITCH, .target = target,
                         .help = "print CSV rows (header first) and nothing "
                                 "else on stdout"};
}

struct flag flag_seed(uint64_t *target)
{
    return (struct flag){.name = "seed", .type = FLAG_COUNT, .target = target,
                         .min = 0, .max = UINT64_MAX, .value_name = "X",
                         .help = "seed for the random choices (same seed, "
                                 "same run)"};
}

struct flag flag_seed_random(uint64_t *target)
{
    struct flag flag = flag_seed(target);
    flag.default_text = FLAG_DEFAULT_RANDOM;
    return flag;
}

/* Whole numbers: digits, then an optional k/M/G.  strtoull is not used
 * because it accepts a sign, leading spaces and silently wraps "-1". */
static bool parse_count(const char *text, uint64_t *value)
{
    uint64_t result = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        return false;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned digit = (unsigned)(*p - '0');
        if (result > (UINT64_MAX - digit) / 10)
            return false; /* overflow */
        result = result * 10 + digit;
    }
    uint64_t scale = 1;
    if (*p == 'k')
        scale = 1000, p++;
    else if (*p == 'M')
        scale = 1000000, p++;
    else if (*p == 'G')
        scale = 1000000000, p++;
    if (*p != '\0')
        return false;
    if (result != 0 && scale > UINT64_MAX / result)
        return false;
    *value = result * scale;
    return true;
}

static bool parse_decimal(const char *text, double *value)
{
    /* Plain decimals only: no sign, no hex, no "inf"/"nan", no exponent
     * (so "1e30" is refused rather than read as a huge number). */
    if (*text == '\0' || strspn(text, "0123456789.") != strlen(text) ||
        strchr(text, '.') != strrchr(text, '.') || strcmp(text, ".") == 0)
        return false;
    char *end;
    *value = strtod(text, &end);
    return *end == '\0' && isfinite(*value);
}

/* A value as an error line shows it: quoted, every byte that is not
 * printable ASCII escaped (a newline must not split the line: \n, \t,
 * \xNN), and at most SHOWN_MAX characters of it, with its length when cut,
 * so the line always has room for what the flag accepts. */
enum { SHOWN_MAX = 40 };
static const char *shown(const char *text, char *out, size_t size)
{
    size_t used = 0, length = strlen(text), i = 0;
    out[used++] = '\'';
    for (; i < length && used + 8 < size && i < SHOWN_MAX; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n')
            used += (size_t)snprintf(out + used, size - used, "\\n");
        else if (c == '\t')
            used += (size_t)snprintf(out + used, size - used, "\\t");
        else if (c == '\\' || c == '\'')
            used += (size_t)snprintf(out + used, size - used, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
        else
            out[used++] = (char)c;
    }
    if (i < length)
        snprintf(out + used, size - used, "'... (%zu characters)", length);
    else
        snprintf(out + used, size - used, "'");
    return out;
}

static void describe_range(const struct flag *flag, char *out, size_t size)
{
    switch (flag->type) {
    case FLAG_COUNT:
        if (flag->max == UINT64_MAX)
            snprintf(out, size, "a whole number from %llu",
                     (unsigned long long)flag->min);
        else
            snprintf(out, size, "a whole number from %llu to %llu",
                     (unsigned long long)flag->min,
                     (unsigned long long)flag->max);
        return;
    case FLAG_DECIMAL:
        snprintf(out, size, "a number from %g to %g", flag->low, flag->high);
        return;
    case FLAG_CHOICE: {
        size_t used = (size_t)snprintf(out, size, "one of");
        for (int i = 0; flag->choices[i] != NULL && used < size; i++)
            used += (size_t)snprintf(out + used, size - used, "%s %s",
                                     i ? "," : "", flag->choices[i]);
        return;
    }
    case FLAG_SWITCH:
        snprintf(out, size, "no value");
        return;
    case FLAG_TEXT:
        snprintf(out, size, "a non-empty text");
        return;
    case FLAG_LIST:
        snprintf(out, size, "up to %d comma-separated whole numbers from %llu "
                 "to %llu", FLAG_LIST_MAX, (unsigned long long)flag->min,
                 (unsigned long long)flag->max);
        return;
    }
}

static int fail(char *error, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *error, size_t size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, size, format, arguments);
    va_end(arguments);
    return -1;
}

static int set_value(struct flag *flag, const char *text, char *error,
                     size_t size)
{
    char range[256], value_text[SHOWN_MAX * 4 + 32];
    describe_range(flag, range, sizeof range);
    shown(text, value_text, sizeof value_text);
    switch (flag->type) {
    case FLAG_COUNT: {
        uint64_t value;
        if (!parse_count(text, &value))
            return fail(error, size, "--%s: %s is not %s", flag->name,
                        value_text, range);
        if (value < flag->min || value > flag->max)
            return fail(error, size, "--%s: %s is out of range; expected %s",
                        flag->name, value_text, range);
        *(uint64_t *)flag->target = value;
        return 0;
    }
    case FLAG_DECIMAL: {
        double value;
        if (!parse_decimal(text, &value))
            return fail(error, size, "--%s: %s is not %s", flag->name,
                        value_text, range);
        if (value < flag->low || value > flag->high)
            return fail(error, size, "--%s: %s is out of range; expected %s",
                        flag->name, value_text, range);
        *(double *)flag->target = value;
        return 0;
    }
    case FLAG_CHOICE:
        for (int i = 0; flag->choices[i] != NULL; i++) {
            if (strcmp(text, flag->choices[i]) == 0) {
                *(int *)flag->target = i;
                return 0;
            }
        }
        return fail(error, size, "--%s: unknown value %s; expected %s",
                    flag->name, value_text, range);
    case FLAG_SWITCH:
        *(bool *)flag->target = true;
        return 0;
    case FLAG_TEXT:
        if (text[0] == '\0')
            return fail(error, size, "--%s: empty value; expected %s",
                        flag->name, range);
        *(const char **)flag->target = text;
        return 0;
    case FLAG_LIST: {
        struct flag_list list = {0};
        char item[64];
        for (const char *at = text;; at++) {
            size_t length = strcspn(at, ",");
            if (length == 0 || length >= sizeof item ||
                list.count == FLAG_LIST_MAX)
                return fail(error, size, "--%s: %s is not %s", flag->name,
                            value_text, range);
            memcpy(item, at, length);
            item[length] = '\0';
            uint64_t value;
            if (!parse_count(item, &value) || value < flag->min ||
                value > flag->max)
                return fail(error, size, "--%s: %s is not %s", flag->name,
                            value_text, range);
            list.values[list.count++] = value;
            at += length;
            if (*at == '\0')
                break;
        }
        *(struct flag_list *)flag->target = list;
        return 0;
    }
    }
    return fail(error, size, "--%s: unsupported flag type", flag->name);
}

static struct flag *find(struct program *program, const char *name,
                         size_t length)
{
    for (struct flag *flag = program->flags; flag->name != NULL; flag++)
        if (strlen(flag->name) == length &&
            strncmp(flag->name, name, length) == 0)
            return flag;
    return NULL;
}

int flags_parse(struct program *program, int argc, char **argv, char *error,
                size_t error_size)
{
    /* Every lab parses its flags first: from here on its stdout is
     * checked at exit (output.h), --help's included. */
    output_guard(program->name);
    for (struct flag *flag = program->flags; flag->name != NULL; flag++)
        flag->given = false;
    /* --help wins wherever it stands, so a student can always get it;
     * --list-flags likewise, for scripts.  Both return 1, so a lab that
     * prints the help on 1 answers --list-flags too (flags_print_help
     * prints the table then). */
    program->listing = false;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--list-flags") == 0)
            program->listing = true;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
            strcmp(argv[i], "--list-flags") == 0)
            return 1;

    for (int i = 1; i < argc; i++) {
        const char *argument = argv[i];
        char text[SHOWN_MAX * 4 + 32];
        if (strncmp(argument, "--", 2) != 0 || argument[2] == '\0')
            return fail(error, error_size,
                        "unexpected argument %s (flags start with --)",
                        shown(argument, text, sizeof text));
        const char *name = argument + 2;
        const char *equals = strchr(name, '=');
        size_t length = equals ? (size_t)(equals - name) : strlen(name);
        struct flag *flag = find(program, name, length);
        if (flag == NULL) {
            char *spelled = strndup(argument, length + 2); /* --name */
            if (spelled == NULL)
                die_at(__FILE__, __LINE__, "strndup", errno);
            fail(error, error_size, "unknown flag %s (see --help)",
                 shown(spelled, text, sizeof text));
            free(spelled);
            return -1;
        }
        char range[256];
        describe_range(flag, range, sizeof range);
        if (flag->given)
            return fail(error, error_size,
                        "--%s: given more than once; expected it once, %s",
                        flag->name, range);
        flag->given = true;

        const char *value;
        if (flag->type == FLAG_SWITCH) {
            if (equals)
                return fail(error, error_size,
                            "--%s: takes no value (a switch: --%s alone)",
                            flag->name, flag->name);
            value = "";
        } else if (equals) {
            value = equals + 1;
        } else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
            value = argv[++i];
        } else {
            return fail(error, error_size, "--%s: missing value; expected %s",
                        flag->name, range);
        }
        if (set_value(flag, value, error, error_size) != 0)
            return -1;
    }
    return 0;
}

static void usage_hint(const struct program *program)
{
    fprintf(stderr, "Try '%s --help' for more information.\n", program->name);
}

void flags_parse_or_exit(struct program *program, int argc, char **argv)
{
    char error[512];
    int rc = flags_parse(program, argc, argv, error, sizeof error);
    if (rc == 1) {
        flags_print_help(program); /* or the table, for --list-flags */
        exit(EXIT_OK);
    }
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", program->name, error);
        usage_hint(program);
        exit(EXIT_USAGE);
    }
}

void flags_usage_error(const struct program *program, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    fprintf(stderr, "%s: ", program->name);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    usage_hint(program);
    exit(EXIT_USAGE);
}

bool flags_given(const struct program *program, const char *name)
{
    for (const struct flag *flag = program->flags; flag->name != NULL; flag++)
        if (strcmp(flag->name, name) == 0)
            return flag->given;
    return false;
}

static void print_default(const struct flag *flag)
{
    if (flag->default_text != NULL) {
        printf(" (default: %s)", flag->default_text);
        return;
    }
    switch (flag->type) {
    case FLAG_COUNT:
        printf(" (default %llu)",
               (unsigned long long)*(const uint64_t *)flag->target);
        break;
    case FLAG_DECIMAL:
        printf(" (default %g)", *(const double *)flag->target);
        break;
    case FLAG_CHOICE:
        printf(" (default %s)", flag->choices[*(const int *)flag->target]);
        break;
    case FLAG_TEXT:
        if (*(const char *const *)flag->target != NULL)
            printf(" (default %s)", *(const char *const *)flag->target);
        break;
    case FLAG_SWITCH:
        break;
    case FLAG_LIST: {
        const struct flag_list *list = flag->target;
        for (int i = 0; i < list->count; i++)
            printf("%s%llu", i ? "," : " (default ",
                   (unsigned long long)list->values[i]);
        if (list->count > 0)
            printf(")");
        break;
    }
    }
}

void flags_print_help(const struct program *program)
{
    if (program->listing) { /* --list-flags was asked for */
        flags_print_table(program);
        return;
    }
    printf("%s: %s\n\n", program->name, program->synopsis);
    printf("Usage: %s [flags]\n\n%s\n\nFlags:\n", program->name,
           program->description);
    for (const struct flag *flag = program->flags; flag->name != NULL; flag++) {
        char left[64];
        if (flag->type == FLAG_SWITCH)
            snprintf(left, sizeof left, "--%s", flag->name);
        else
            snprintf(left, sizeof left, "--%s %s", flag->name,
                     flag->value_name ? flag->value_name : "VALUE");
        char range[256];
        describe_range(flag, range, sizeof range);
        printf("  %-22s %s", left, flag->help);
        if (flag->type != FLAG_SWITCH) {
            printf("\n  %-22s %s", "", range);
            print_default(flag);
        }
        putchar('\n');
    }
    printf("  %-22s %s\n", "--help", "show this text and exit");
    printf("  %-22s %s\n", "--list-flags",
           "print the flag table for scripts (see flags.h) and exit");
    printf("\nExit status:\n"
           "  0      the experiment ran and its result checked out\n"
           "  1      the program's own check of its result failed\n"
           "  2      bad command line (nothing was run)\n"
           "  3      the watchdog stopped a run that did not finish in time\n"
           "  4      a system call failed unexpectedly (file:line printed)\n"
           "  128+N  stopped by signal N (130: Ctrl+C, 143: SIGTERM, 129: "
           "SIGHUP),\n"
           "         after every child was killed and reaped\n");
    if (program->exit_notes)
        printf("%s\n", program->exit_notes);
}

/* One line per flag, tab-separated: --name, type, then for count: min,
 * max; decimal: low, high; choice: the choices, comma-separated.  The
 * fault tests build their bad command lines from it (flags.h). */
void flags_print_table(const struct program *program)
{
    for (const struct flag *flag = program->flags; flag->name != NULL; flag++) {
        switch (flag->type) {
        case FLAG_SWITCH:
            printf("--%s\tswitch\n", flag->name);
            break;
        case FLAG_COUNT:
            printf("--%s\tcount\t%llu\t%llu\n", flag->name,
                   (unsigned long long)flag->min,
                   (unsigned long long)flag->max);
            break;
        case FLAG_DECIMAL:
            printf("--%s\tdecimal\t%.15g\t%.15g\n", flag->name, flag->low,
                   flag->high);
            break;
        case FLAG_LIST:
            printf("--%s\tlist\t%llu\t%llu\n", flag->name,
                   (unsigned long long)flag->min,
                   (unsigned long long)flag->max);
            break;
        case FLAG_CHOICE:
            printf("--%s\tchoice\t", flag->name);
            for (int i = 0; flag->choices[i] != NULL; i++)
                printf("%s%s", i ? "," : "", flag->choices[i]);
            putchar('\n');
            break;
        case FLAG_TEXT:
            printf("--%s\ttext\n", flag->name);
            break;
        }
    }
}
