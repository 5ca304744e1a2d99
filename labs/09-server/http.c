/* http.c: the part of HTTP/1.1 (RFC 9110, 9112) a small origin server needs:
 * parse one request from the bytes read so far, and format a response.
 *
 * The parser is strict where being lenient would be a hole: one request
 * line of exactly three parts, header names that are tokens with the colon
 * right after them, no line folding, a Host header on HTTP/1.1, a bounded
 * size and count of headers.  It never reads past the bytes it was given
 * and never allocates, so random bytes can only ever produce a status code.
 * It accepts bare LF line ends as well as CRLF (RFC 9112 2.2 allows it),
 * so `printf 'GET / HTTP/1.0\n\n' | nc` works.
 */
#define _GNU_SOURCE
#include "lab.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

const char HTTP_ROOT_BODY[] = "Hello, world!\n";

const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default:  return "Error";
    }
}

/* tchar in RFC 9110 5.6.2: what a method or a header name is made of. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static struct http_parse failed(int status, const char *why)
{
    return (struct http_parse){.status = status, .why = why};
}

/* The end of the line starting at buf[at], or -1 if it is not complete.
 * *next: where the following line starts. */
static long line_end(const char *buf, size_t length, size_t at, size_t *next)
{
    const char *newline = memchr(buf + at, '\n', length - at);
    if (newline == NULL)
        return -1;
    size_t end = (size_t)(newline - buf);
    *next = end + 1;
    if (end > at && buf[end - 1] == '\r')
        end--;
    return (long)end;
}

static bool equals(const char *text, size_t length, const char *word)
{
    return strlen(word) == length && strncasecmp(text, word, length) == 0;
}

/* A decimal number of at most 18 digits (no sign, no blanks), or -1. */
static long long decimal(const char *text, size_t length)
{
    if (length == 0 || length > 18)
        return -1;
    long long value = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

/* The request line: METHOD SP TARGET SP HTTP/1.x */
static struct http_parse parse_request_line(const char *line, size_t length,
                                            struct http_request *request,
                                            const char **target,
                                            size_t *target_length, int *method)
{
    const char *space1 = memchr(line, ' ', length);
    if (space1 == NULL || space1 == line)
        return failed(400, "malformed request line (no method)");
    size_t method_length = (size_t)(space1 - line);
    for (size_t i = 0; i < method_length; i++)
        if (!is_tchar((unsigned char)line[i]))
            return failed(400, "malformed request line (method is not a token)");
    const char *rest = space1 + 1;
    size_t rest_length = length - method_length - 1;
    const char *space2 = memchr(rest, ' ', rest_length);
    if (space2 == NULL || space2 == rest)
        return failed(400, "malformed request line (no target or version)");
    *target = rest;
    *target_length = (size_t)(space2 - rest);
    for (size_t i = 0; i < *target_length; i++) {
        unsigned char c = (unsigned char)rest[i];
        if (c <= 0x20 || c >= 0x7f)
            return failed(400, "malformed request line (bad byte in target)");
    }
    const char *version = space2 + 1;
    size_t version_length = rest_length - *target_length - 1;
    if (version_length != 8 || strncmp(version, "HTTP/", 5) != 0 ||
        version[5] < '0' || version[5] > '9' || version[6] != '.' ||
        version[7] < '0' || version[7] > '9')
        return failed(400, "malformed request line (version)");
    if (version[5] != '1')
        return failed(505, "HTTP major version is not 1");
    request->minor_version = version[7] - '0';

    /* 0 GET, 1 HEAD, 2 a method HTTP defines but this server does not
     * allow here (405), 3 a method it does not know (501). */
    static const char *const defined[] = {"POST", "PUT", "DELETE", "PATCH",
                                          "OPTIONS", "TRACE", "CONNECT", NULL};
    if (method_length == 3 && memcmp(line, "GET", 3) == 0) {
        *method = 0;
    } else if (method_length == 4 && memcmp(line, "HEAD", 4) == 0) {
        *method = 1;
    } else {
        *method = 3;
        for (int i = 0; defined[i] != NULL; i++)
            if (strlen(defined[i]) == method_length &&
                memcmp(line, defined[i], method_length) == 0)
                *method = 2;
    }
    return (struct http_parse){.status = 0};
}

/* /work?cpu=N&io_ms=D */
static struct http_parse parse_work_query(const char *query, size_t length,
                                          struct http_request *request)
{
    size_t at = 0;
    while (at < length) {
        const char *amp = memchr(query + at, '&', length - at);
        size_t end = amp ? (size_t)(amp - query) : length;
        const char *pair = query + at;
        size_t pair_length = end - at;
        const char *eq = memchr(pair, '=', pair_length);
        if (eq == NULL)
            return failed(400, "/work: a parameter without a value");
        size_t name_length = (size_t)(eq - pair);
        long long value = decimal(eq + 1, pair_length - name_length - 1);
        if (equals(pair, name_length, "cpu")) {
            if (value < 0 || value > HTTP_WORK_CPU_MAX)
                return failed(400, "/work: cpu is not 0 to 1000000000");
            request->cpu = (uint64_t)value;
        } else if (equals(pair, name_length, "io_ms")) {
            if (value < 0 || value > HTTP_WORK_IO_MAX)
                return failed(400, "/work: io_ms is not 0 to 10000");
            request->io_ms = (uint64_t)value;
        } else {
            return failed(400, "/work: unknown parameter");
        }
        at = end + 1;
    }
    return (struct http_parse){.status = 0};
}

struct http_parse http_parse(const char *buf, size_t length)
{
    struct http_request request = {0};
    size_t next = 0;
    long end = line_end(buf, length, 0, &next);
    /* Robustness (RFC 9112 2.2): empty lines before a request are skipped;
     * a bounded number, so a stream of newlines cannot hold a thread. */
    size_t start = 0;
    for (int blank = 0; end == (long)start && blank < 4; blank++) {
        start = next;
        end = line_end(buf, length, start, &next);
    }
    if (end == (long)start)
        return failed(400, "blank lines instead of a request");
    if (end < 0) {
        if (length - start > HTTP_HEADER_LIMIT)
            return failed(414, "request line over the limit");
        /* A complete request line is judged before the headers arrive;
         * an incomplete one at least must not contain a NUL byte. */
        if (memchr(buf + start, '\0', length - start) != NULL)
            return failed(400, "malformed request line (NUL byte)");
        return (struct http_parse){.status = -1};
    }
    const char *target = NULL;
    size_t target_length = 0;
    int method = 0;
    struct http_parse line = parse_request_line(buf + start, (size_t)end - start,
                                                &request, &target,
                                                &target_length, &method);
    if (line.status != 0)
        return line;

    /* Headers, up to the empty line. */
    int headers = 0, hosts = 0;
    long long content_length = -1;
    bool chunked = false, close = false, keep_alive = false;
    size_t at = next;
    for (;;) {
        end = line_end(buf, length, at, &next);
        if (end < 0) {
            if (length - start > HTTP_HEADER_LIMIT)
                return failed(431, "headers over the size limit");
            return (struct http_parse){.status = -1};
        }
        if (next - start > HTTP_HEADER_LIMIT)
            return failed(431, "headers over the size limit");
        if (end == (long)at)
            break; /* the empty line: the headers are complete */
        if (++headers > HTTP_HEADER_COUNT_LIMIT)
            return failed(431, "more than 100 header fields");
        const char *header = buf + at;
        size_t header_length = (size_t)end - at;
        if (header[0] == ' ' || header[0] == '\t')
            return failed(400, "obsolete line folding in a header");
        const char *colon = memchr(header, ':', header_length);
        if (colon == NULL || colon == header)
            return failed(400, "a header line without a name and a colon");
        size_t name_length = (size_t)(colon - header);
        for (size_t i = 0; i < name_length; i++)
            if (!is_tchar((unsigned char)header[i]))
                return failed(400, "a header name that is not a token");
        const char *value = colon + 1;
        size_t value_length = header_length - name_length - 1;
        for (size_t i = 0; i < value_length; i++) {
            unsigned char c = (unsigned char)value[i];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return failed(400, "a control byte in a header value");
        }
        while (value_length > 0 && (*value == ' ' || *value == '\t'))
            value++, value_length--;
        while (value_length > 0 &&
               (value[value_length - 1] == ' ' || value[value_length - 1] == '\t'))
            value_length--;
        if (equals(header, name_length, "host")) {
            hosts++;
        } else if (equals(header, name_length, "content-length")) {
            long long n = decimal(value, value_length);
            if (n < 0 || (content_length >= 0 && n != content_length))
                return failed(400, "a bad Content-Length");
            content_length = n;
        } else if (equals(header, name_length, "transfer-encoding")) {
            chunked = true;
        } else if (equals(header, name_length, "connection")) {
            /* A list of tokens: "keep-alive", "close", "Upgrade", ... */
            size_t i = 0;
            while (i < value_length) {
                while (i < value_length && (value[i] == ' ' || value[i] == ','))
                    i++;
                size_t token = i;
                while (i < value_length && value[i] != ',' && value[i] != ' ')
                    i++;
                if (equals(value + token, i - token, "close"))
                    close = true;
                if (equals(value + token, i - token, "keep-alive"))
                    keep_alive = true;
            }
        }
        at = next;
    }
    size_t consumed = next;

    /* HTTP/1.1 keeps the connection open unless told otherwise; HTTP/1.0
     * closes it unless the client asked for keep-alive (ab -k does). */
    request.keep_alive = request.minor_version >= 1 ? !close : keep_alive && !close;
    if (method == 2)
        return failed(405, "a method this server does not allow");
    if (method == 3)
        return failed(501, "an unknown method");
    if (chunked || content_length > 0)
        return failed(400, "a body on GET or HEAD");
    if (request.minor_version >= 1 && hosts != 1)
        return failed(400, hosts == 0 ? "HTTP/1.1 without a Host header"
                                      : "more than one Host header");
    /* absolute-form (RFC 9112 3.2.2: a server must accept it, as a proxy
     * would send it): http://host[:port]/path -> /path. */
    if (target_length > 7 && strncasecmp(target, "http://", 7) == 0) {
        const char *slash = memchr(target + 7, '/', target_length - 7);
        if (slash == NULL)
            target = "/", target_length = 1;
        else
            target_length -= (size_t)(slash - target), target = slash;
    }
    if (target[0] != '/')
        return failed(400, "the target is not a path");
    request.head = method == 1;

    const char *question = memchr(target, '?', target_length);
    size_t path_length = question ? (size_t)(question - target) : target_length;
    if (equals(target, path_length, "/")) {
        request.route = ROUTE_ROOT;
    } else if (path_length == 5 && memcmp(target, "/work", 5) == 0) {
        request.route = ROUTE_WORK;
        if (question != NULL) {
            struct http_parse query =
                parse_work_query(question + 1, target_length - path_length - 1,
                                 &request);
            if (query.status != 0)
                return query;
        }
    } else {
        struct http_parse missing = failed(404, "no such path");
        missing.request = request; /* well-formed: the connection may stay */
        missing.consumed = consumed;
        return missing;
    }
    return (struct http_parse){.status = 0, .consumed = consumed,
                               .request = request};
}

/* The Date header (RFC 9110 6.6.1: an origin server with a clock sends
 * it), formatted once a second per thread, not once per response. */
static const char *date_now(void)
{
    static _Thread_local time_t formatted_at = -1;
    static _Thread_local char text[64];
    time_t now = time(NULL);
    if (now != formatted_at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        formatted_at = now;
    }
    return text;
}

size_t http_response(char *out, size_t size, int status, bool keep_alive,
                     bool keep_alive_header, bool head, const char *body)
{
    char error_body[96];
    if (body == NULL) {
        snprintf(error_body, sizeof error_body, "%d %s\n", status,
                 http_reason(status));
        body = error_body;
    }
    size_t body_length = strlen(body);
    /* An HTTP/1.0 client that asked for keep-alive must be told it got it
     * (keep_alive_header); an HTTP/1.1 client assumes it. */
    const char *connection = !keep_alive          ? "Connection: close\r\n"
                             : keep_alive_header ? "Connection: keep-alive\r\n"
                                                 : "";
    int n = snprintf(out, size,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: lab09\r\n"
                     "Date: %s\r\n"
                     "Content-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n"
                     "%s%s"
                     "\r\n"
                     "%s",
                     status, http_reason(status), date_now(), body_length,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "", connection,
                     head ? "" : body);
    if (n < 0 || (size_t)n >= size)
        return 0;
    return (size_t)n;
}

bool send_all(int fd, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = send(fd, data, length, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        length -= (size_t)n;
    }
    return true;
}
