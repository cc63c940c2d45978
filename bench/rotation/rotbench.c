/*
 * rotbench — broadcast ticker upstream and many-session client for Lifeline's
 * rotation benchmark (issue 4, spec §4).
 *
 *   rotbench ticker --listen 127.0.0.1:PORT --rate 5 --log FILE
 *   rotbench client --connect 127.0.0.1:PORT --sessions 6000 --ramp 500
 *                   --hold 240 [--id-base 0] [--stall 3]
 *
 * Single thread each, epoll, non-blocking sockets, libc + libcrypto (SHA-1 for
 * the handshake) only.  Build: gcc -O2 -o rotbench rotbench.c -lcrypto
 *
 * Ticker: the protocol of Tests/e2e/ticker_upstream.py.  One global sequence
 * {"seq":N}, N = 1, 2, ..., produced at --rate per second on a clock that runs
 * whether anyone listens or not; a connection that sends {"op":"subscribe"}
 * gets every tick after that, as one text frame, byte-identical for everyone
 * (so Lifeline's de-duplication can recognise the copies during a hand-over).
 * Pings are answered, a close is answered with a close and the socket closed
 * at once (so TIME_WAIT lands on the ticker's side, not on Lifeline's
 * ephemeral ports).  Every connection is logged to --log as it happens
 * (buffered, flushed once a second and at exit), CLOCK_MONOTONIC ns:
 *     a CONN T_ACCEPT SINCE_MS   TCP connection accepted; SINCE_MS = the kernel's
 *                                tcpi_last_data_recv then: ms since the last data
 *                                (the upgrade request) or, without data, the
 *                                handshake arrived, i.e. how long it waited in
 *                                the accept queue (-1 if unknown)
 *     u CONN SESSION T           upgrade done; SESSION = the number at the end
 *                                of the request path (the client's /s/ID)
 *     s CONN T FIRST_SEQ         subscribed; FIRST_SEQ = first tick it will get
 *     c CONN T LAST_SEQ HOW      closed; LAST_SEQ = last tick written to it,
 *                                HOW = peer's close code, -1 EOF, -2 error
 *
 * Client: --sessions WebSocket sessions to Lifeline, opened at --ramp per
 * second, each on path /s/ID (ID from --id-base), each sends the subscribe
 * message once and then checks that every {"seq":N} it gets is the previous
 * one + 1: a larger N is a gap (N - last - 1 messages missing), a smaller or
 * equal N a duplicate.  Pings are answered with pongs; a close from Lifeline
 * is answered and counted.  Nothing is retried: a failed connect or handshake
 * is counted as such.  When every session has had its first message it
 * prints `ramp_done T_NS` on stdout; --hold seconds later it prints one JSON
 * line with the totals and keeps every session open until SIGTERM (so the
 * caller can read Lifeline's metrics with the sessions still there).
 * Status lines go to stderr every 10 s.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../wscommon.h"
#define MAX_FRAME (1u << 20)

static void die(const char *m) { perror(m); exit(1); }

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}


static int parse_hostport(const char *s, struct sockaddr_in *sa) {
    char host[256];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    int port = atoi(colon + 1);
    if (port <= 0 || port > 65535) return -1;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
    return 0;
}




/* Growable byte buffer: data lives in [off, len). */
typedef struct { unsigned char *p; size_t off, len, cap; } buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    if (b->off > 0) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= extra) return;
    }
    size_t nc = b->cap ? b->cap : 2048;
    while (nc - b->len < extra) nc *= 2;
    unsigned char *np = realloc(b->p, nc);
    if (!np) die("realloc");
    b->p = np;
    b->cap = nc;
}
static inline size_t buf_avail(const buf_t *b) { return b->len - b->off; }
static inline void buf_consume(buf_t *b, size_t n) {
    b->off += n;
    if (b->off == b->len) b->off = b->len = 0;
}
static void buf_append(buf_t *b, const void *d, size_t n) {
    buf_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void buf_free(buf_t *b) { free(b->p); b->p = NULL; b->off = b->len = b->cap = 0; }

/* One frame header + payload into `o` (masked with a fixed-per-call key when mask). Returns length. */
static size_t make_frame(unsigned char *o, unsigned op, const unsigned char *pay, size_t n, int mask) {
    size_t h = 0;
    o[h++] = (unsigned char)(0x80 | op);
    if (n < 126) o[h++] = (unsigned char)((mask ? 0x80 : 0) | n);
    else { o[h++] = (unsigned char)((mask ? 0x80 : 0) | 126); o[h++] = (unsigned char)(n >> 8); o[h++] = (unsigned char)n; }
    if (mask) {
        uint32_t r = (uint32_t)random();
        unsigned char *k = o + h;
        memcpy(k, &r, 4);
        h += 4;
        for (size_t i = 0; i < n; i++) o[h + i] = pay[i] ^ k[i & 3];
    } else if (n) {
        memcpy(o + h, pay, n);
    }
    return h + n;
}

/* A parsed frame at the front of `b`: returns 1 and fills the fields when one is complete,
 * 0 when more bytes are needed, -1 on a frame too large. The payload is unmasked in place. */
typedef struct { unsigned fin, op; unsigned char *pay; size_t n, total; } frame_t;
static int next_frame(buf_t *b, frame_t *f) {
    size_t avail = buf_avail(b);
    if (avail < 2) return 0;
    unsigned char *p = b->p + b->off;
    unsigned masked = p[1] >> 7;
    uint64_t n = p[1] & 0x7f;
    size_t h = 2;
    if (n == 126) {
        if (avail < 4) return 0;
        n = (uint64_t)p[2] << 8 | p[3];
        h = 4;
    } else if (n == 127) {
        if (avail < 10) return 0;
        n = 0;
        for (int i = 0; i < 8; i++) n = n << 8 | p[2 + i];
        h = 10;
    }
    if (n > MAX_FRAME) return -1;
    unsigned char *key = p + h;
    if (masked) h += 4;
    if (avail < h + n) return 0;
    f->fin = p[0] >> 7;
    f->op = p[0] & 0x0f;
    f->pay = p + h;
    f->n = (size_t)n;
    f->total = h + (size_t)n;
    if (masked) for (size_t i = 0; i < n; i++) f->pay[i] ^= key[i & 3];
    return 1;
}

static volatile sig_atomic_t g_stop;
static void on_signal(int s) { (void)s; g_stop = 1; }
static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: epoll_wait returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int g_ep;
static void ep_add(int fd, void *ptr, uint32_t ev) {
    struct epoll_event e = {.events = ev, .data.ptr = ptr};
    if (epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &e) < 0) die("epoll_ctl add");
}
static void ep_mod(int fd, void *ptr, uint32_t ev) {
    struct epoll_event e = {.events = ev, .data.ptr = ptr};
    if (epoll_ctl(g_ep, EPOLL_CTL_MOD, fd, &e) < 0) die("epoll_ctl mod");
}

static int make_timer(double interval_s) {
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    if (tfd < 0) die("timerfd_create");
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)interval_s;
    its.it_interval.tv_nsec = (long)((interval_s - (double)(time_t)interval_s) * 1e9);
    its.it_value = its.it_interval;
    if (timerfd_settime(tfd, 0, &its, NULL) < 0) die("timerfd_settime");
    return tfd;
}

/* Token pointers for epoll: the listener and the timer. */
static char TOK_LISTEN, TOK_TIMER;

/* ======================================================================== */
/* Ticker                                                                    */
/* ======================================================================== */
typedef struct tconn {
    int fd, open, dead;
    long id, session;
    int sub_index; /* index in the subscriber array, -1 if not subscribed */
    uint32_t evmask;
    uint64_t last_seq;
    buf_t in, out;
} tconn;

static tconn **g_subs;
static size_t g_nsubs, g_capsubs;
static FILE *g_log;
static uint64_t g_seq;
static long g_next_id, g_open_conns, g_write_stalls;

static void t_unsubscribe(tconn *c) {
    if (c->sub_index < 0) return;
    size_t i = (size_t)c->sub_index;
    g_subs[i] = g_subs[--g_nsubs];
    g_subs[i]->sub_index = (int)i;
    c->sub_index = -1;
}

static void t_close(tconn *c, int how) {
    if (c->dead) return;
    c->dead = 1;
    t_unsubscribe(c);
    fprintf(g_log, "c %ld %llu %llu %d\n", c->id, (unsigned long long)now_ns(), (unsigned long long)c->last_seq, how);
    close(c->fd);
    g_open_conns--;
    buf_free(&c->in);
    buf_free(&c->out);
    free(c);
}

/* Writes what is queued; returns -1 on error. */
static int t_flush(tconn *c) {
    while (buf_avail(&c->out)) {
        ssize_t n = write(c->fd, c->out.p + c->out.off, buf_avail(&c->out));
        if (n > 0) { buf_consume(&c->out, (size_t)n); continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    uint32_t mask = buf_avail(&c->out) ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    if (mask != c->evmask) {
        if (mask & EPOLLOUT) g_write_stalls++;
        c->evmask = mask;
        ep_mod(c->fd, c, mask);
    }
    return 0;
}

/* Sends bytes in order: straight to the socket when nothing is queued. */
static int t_send(tconn *c, const unsigned char *d, size_t n) {
    if (!buf_avail(&c->out)) {
        ssize_t w = write(c->fd, d, n);
        if (w == (ssize_t)n) return 0;
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
            w = 0;
        }
        d += w;
        n -= (size_t)w;
    }
    buf_append(&c->out, d, n);
    return t_flush(c);
}

static int t_handshake(tconn *c) {
    const char *head = (const char *)c->in.p + c->in.off;
    size_t avail = buf_avail(&c->in);
    const char *eoh = memmem(head, avail, "\r\n\r\n", 4);
    if (!eoh) return avail > 16384 ? -1 : 0;
    size_t hlen = (size_t)(eoh - head) + 4, klen = 0;
    const char *key = find_header(head, hlen, "Sec-WebSocket-Key", &klen);
    if (!key || klen == 0 || klen > 64) return -1;
    /* Request line: GET /path HTTP/1.1 — the session is the number after the last '/'. */
    const char *sp = memchr(head, ' ', hlen);
    const char *sp2 = sp ? memchr(sp + 1, ' ', (size_t)(eoh - sp - 1)) : NULL;
    c->session = -1;
    if (sp && sp2) {
        const char *slash = sp2;
        while (slash > sp && *slash != '/') slash--;
        if (*slash == '/' && slash + 1 < sp2) c->session = strtol(slash + 1, NULL, 10);
    }
    char acc[32], resp[256];
    ws_accept(key, klen, acc);
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
    buf_consume(&c->in, hlen);
    c->open = 1;
    fprintf(g_log, "u %ld %ld %llu\n", c->id, c->session, (unsigned long long)now_ns());
    return t_send(c, (const unsigned char *)resp, (size_t)n);
}

/* Returns -1 when the connection is to be closed (how in *how). */
static int t_frames(tconn *c, int *how) {
    frame_t f;
    int r;
    while ((r = next_frame(&c->in, &f)) == 1) {
        unsigned char o[160];
        if (f.op == 0x1 || f.op == 0x2) {
            if (f.op == 0x1 && c->sub_index < 0 && memmem(f.pay, f.n, "\"subscribe\"", 11)) {
                if (g_nsubs == g_capsubs) {
                    g_capsubs = g_capsubs ? g_capsubs * 2 : 1024;
                    g_subs = realloc(g_subs, g_capsubs * sizeof *g_subs);
                    if (!g_subs) die("realloc");
                }
                c->sub_index = (int)g_nsubs;
                g_subs[g_nsubs++] = c;
                fprintf(g_log, "s %ld %llu %llu\n", c->id, (unsigned long long)now_ns(), (unsigned long long)(g_seq + 1));
            }
        } else if (f.op == 0x9) {
            if (f.n > 125) return *how = -2, -1;
            size_t n = make_frame(o, 0xA, f.pay, f.n, 0);
            if (t_send(c, o, n) < 0) return *how = -2, -1;
        } else if (f.op == 0x8) {
            int code = f.n >= 2 ? (f.pay[0] << 8 | f.pay[1]) : 1005;
            unsigned char cp[2] = {(unsigned char)(code >> 8), (unsigned char)code};
            size_t n = make_frame(o, 0x8, cp, code == 1005 ? 0 : 2, 0);
            t_send(c, o, n); /* best effort, then the socket goes: TIME_WAIT is ours */
            *how = code;
            return -1;
        }
        buf_consume(&c->in, f.total);
    }
    if (r < 0) return *how = -2, -1;
    return 0;
}

static void t_readable(tconn *c) {
    int how = -1;
    for (;;) {
        buf_reserve(&c->in, 4096);
        ssize_t n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
        if (n == 0) { t_close(c, -1); return; }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            t_close(c, -2);
            return;
        }
        c->in.len += (size_t)n;
        if (!c->open && t_handshake(c) < 0) { t_close(c, -2); return; }
        if (c->open && t_frames(c, &how) < 0) { t_close(c, how); return; }
    }
}

static void t_broadcast(uint64_t seq) {
    unsigned char frame[64];
    char text[40];
    int tl = snprintf(text, sizeof text, "{\"seq\":%llu}", (unsigned long long)seq);
    size_t fl = make_frame(frame, 0x1, (unsigned char *)text, (size_t)tl, 0);
    for (size_t i = 0; i < g_nsubs;) {
        tconn *c = g_subs[i];
        c->last_seq = seq;
        if (t_send(c, frame, fl) < 0) { t_close(c, -2); continue; } /* swapped: same i again */
        i++;
    }
}

static int run_ticker(int argc, char **argv) {
    const char *listen_at = NULL, *log_path = NULL;
    double rate = 5;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc) listen_at = argv[++i];
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atof(argv[++i]);
        else if (!strcmp(argv[i], "--log") && i + 1 < argc) log_path = argv[++i];
        else { fprintf(stderr, "ticker: unknown argument %s\n", argv[i]); return 2; }
    }
    struct sockaddr_in sa;
    if (!listen_at || parse_hostport(listen_at, &sa) < 0 || !log_path || rate <= 0) {
        fprintf(stderr, "usage: rotbench ticker --listen HOST:PORT --rate R --log FILE\n");
        return 2;
    }
    raise_nofile();
    install_signals();
    g_log = fopen(log_path, "w");
    if (!g_log) die("ticker: log");
    setvbuf(g_log, NULL, _IOFBF, 1 << 20);
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("ticker: bind");
    if (listen(lfd, 4096) < 0) die("ticker: listen");
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    g_ep = epoll_create1(0);
    ep_add(lfd, &TOK_LISTEN, EPOLLIN);
    int tfd = make_timer(1.0 / rate);
    ep_add(tfd, &TOK_TIMER, EPOLLIN);
    uint64_t start = now_ns(), last_flush = start, last_status = start;
    fprintf(stderr, "ticker listening on %s, %.3g msgs/s\n", listen_at, rate);
    printf("listening %s\n", listen_at);
    fflush(stdout);
    struct epoll_event evs[512];
    long accepted = 0;
    while (!g_stop) {
        int n = epoll_wait(g_ep, evs, 512, 200);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &TOK_LISTEN) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) {
                        if (errno == EMFILE || errno == ENFILE) fprintf(stderr, "ticker: accept: %s\n", strerror(errno));
                        break;
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    tconn *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->id = g_next_id++;
                    c->sub_index = -1;
                    c->evmask = EPOLLIN;
                    ep_add(fd, c, EPOLLIN);
                    g_open_conns++;
                    accepted++;
                    /* The kernel's view too: ms since the last data (else the handshake) arrived,
                     * so the connection's arrival time survives a stall of this process. */
                    struct tcp_info ti;
                    socklen_t tl = sizeof ti;
                    long since_ms = -1;
                    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0) since_ms = (long)ti.tcpi_last_data_recv;
                    fprintf(g_log, "a %ld %llu %ld\n", c->id, (unsigned long long)now_ns(), since_ms);
                }
            } else if (p == &TOK_TIMER) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0) { /* spurious */ }
                uint64_t target = (uint64_t)((double)(now_ns() - start) * rate / 1e9);
                while (g_seq < target) t_broadcast(++g_seq);
            } else {
                tconn *c = p;
                if (evs[i].events & EPOLLERR) { t_close(c, -2); continue; }
                if ((evs[i].events & EPOLLOUT) && t_flush(c) < 0) { t_close(c, -2); continue; }
                if (evs[i].events & (EPOLLIN | EPOLLHUP)) t_readable(c);
            }
        }
        uint64_t t = now_ns();
        if (t - last_flush > 1000000000ull) { fflush(g_log); last_flush = t; }
        if (t - last_status > 10000000000ull) {
            fprintf(stderr, "ticker t=%.0fs seq=%llu open=%ld subscribed=%zu accepted=%ld write_stalls=%ld\n",
                    (double)(t - start) / 1e9, (unsigned long long)g_seq, g_open_conns, g_nsubs, accepted, g_write_stalls);
            last_status = t;
        }
    }
    fflush(g_log);
    fclose(g_log);
    fprintf(stderr, "ticker stopped: seq=%llu accepted=%ld open=%ld\n", (unsigned long long)g_seq, accepted, g_open_conns);
    return 0;
}

/* ======================================================================== */
/* Client                                                                    */
/* ======================================================================== */
enum { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DEAD };

typedef struct cconn {
    int fd, state;
    long id;
    uint32_t evmask;
    uint64_t last_seq, first_seq, last_msg_ns, msgs;
    char accept[32];
    buf_t in, out, msg;
    unsigned msg_op;
    int in_msg, settled; /* settled: had its first message, or died before it */
} cconn;

static struct {
    long sessions, started, connected, subscribed, first_msg, alive, settled;
    long conn_fail, hs_fail, proto_err, closes, eof_closes, other_msgs;
    uint64_t msgs, gaps, missing, dups, pings;
    uint64_t max_ia_ns, ia_over_1s, ia_over_half;
    long close_codes[8];
    int close_code_val[8];
    int n_close_codes;
} S;

static void c_count_close(int code) {
    for (int i = 0; i < S.n_close_codes; i++)
        if (S.close_code_val[i] == code) { S.close_codes[i]++; return; }
    if (S.n_close_codes < 8) {
        S.close_code_val[S.n_close_codes] = code;
        S.close_codes[S.n_close_codes++] = 1;
    }
}

static void c_settle(cconn *c) {
    if (!c->settled) { c->settled = 1; S.settled++; }
}

static void c_dead(cconn *c) {
    c_settle(c);
    if (c->state == C_DEAD) return;
    if (c->state == C_OPEN) S.alive--;
    c->state = C_DEAD;
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    buf_free(&c->in);
    buf_free(&c->out);
    buf_free(&c->msg);
}

static int c_flush(cconn *c) {
    while (buf_avail(&c->out)) {
        ssize_t n = write(c->fd, c->out.p + c->out.off, buf_avail(&c->out));
        if (n > 0) { buf_consume(&c->out, (size_t)n); continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return -1;
    }
    uint32_t mask = buf_avail(&c->out) ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
    if (mask != c->evmask) { c->evmask = mask; ep_mod(c->fd, c, mask); }
    return 0;
}

static int c_send(cconn *c, const void *d, size_t n) {
    buf_append(&c->out, d, n);
    return c_flush(c);
}

static struct sockaddr_in g_target;
static char g_hostport[64];

static void c_start(cconn *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) { S.conn_fail++; c->state = C_DEAD; c_settle(c); fprintf(stderr, "client: socket: %s\n", strerror(errno)); return; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    S.started++;
    int r = connect(c->fd, (struct sockaddr *)&g_target, sizeof g_target);
    if (r < 0 && errno != EINPROGRESS) { S.conn_fail++; close(c->fd); c->fd = -1; c->state = C_DEAD; c_settle(c); return; }
    c->state = C_CONNECTING;
    c->evmask = EPOLLOUT;
    ep_add(c->fd, c, EPOLLOUT);
}

static void c_connected(cconn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) { S.conn_fail++; c_dead(c); return; }
    S.connected++;
    unsigned char raw[16];
    for (int i = 0; i < 16; i++) raw[i] = (unsigned char)random();
    char key[32], req[512];
    b64(raw, 16, key);
    ws_accept(key, strlen(key), c->accept);
    int n = snprintf(req, sizeof req,
                     "GET /s/%ld HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", c->id, g_hostport, key);
    c->state = C_HANDSHAKE;
    c->evmask = 0;
    if (c_send(c, req, (size_t)n) < 0) { S.conn_fail++; c_dead(c); }
}

static void c_message(cconn *c, unsigned op, const unsigned char *p, size_t n, uint64_t t) {
    if (op == 0x1 && n > 8 && memcmp(p, "{\"seq\":", 7) == 0) {
        uint64_t seq = strtoull((const char *)p + 7, NULL, 10); /* ends at '}' */
        S.msgs++;
        c->msgs++;
        if (c->last_seq == 0) {
            c->first_seq = seq;
            S.first_msg++;
            c_settle(c);
        } else {
            if (seq == c->last_seq + 1) { /* in order */ }
            else {
                if (seq > c->last_seq + 1) { S.gaps++; S.missing += seq - c->last_seq - 1; }
                else S.dups++;
                if (S.gaps + S.dups <= 200) /* the first ones, to match with the ticker's log */
                    fprintf(stderr, "%s session=%ld seq=%llu last=%llu t=%llu\n", seq > c->last_seq ? "gap" : "dup", c->id,
                            (unsigned long long)seq, (unsigned long long)c->last_seq, (unsigned long long)t);
            }
            uint64_t ia = t - c->last_msg_ns;
            if (ia > S.max_ia_ns) S.max_ia_ns = ia;
            if (ia > 500000000ull) S.ia_over_half++;
            if (ia > 1000000000ull) S.ia_over_1s++;
        }
        if (seq > c->last_seq) c->last_seq = seq;
        c->last_msg_ns = t;
    } else {
        S.other_msgs++;
    }
}

/* Frames in c->in. Returns -1 when the session is over. */
static int c_frames(cconn *c, uint64_t t) {
    frame_t f;
    int r;
    while ((r = next_frame(&c->in, &f)) == 1) {
        unsigned char o[160];
        switch (f.op) {
        case 0x0:
            if (!c->in_msg) { S.proto_err++; return -1; }
            buf_append(&c->msg, f.pay, f.n);
            if (f.fin) { c_message(c, c->msg_op, c->msg.p + c->msg.off, buf_avail(&c->msg), t); c->in_msg = 0; buf_consume(&c->msg, buf_avail(&c->msg)); }
            break;
        case 0x1: case 0x2:
            if (c->in_msg) { S.proto_err++; return -1; }
            if (f.fin) c_message(c, f.op, f.pay, f.n, t);
            else { c->in_msg = 1; c->msg_op = f.op; buf_append(&c->msg, f.pay, f.n); }
            break;
        case 0x9:
            if (f.n > 125) { S.proto_err++; return -1; }
            S.pings++;
            if (c_send(c, o, make_frame(o, 0xA, f.pay, f.n, 1)) < 0) return -1;
            break;
        case 0xA:
            break;
        case 0x8: {
            int code = f.n >= 2 ? (f.pay[0] << 8 | f.pay[1]) : 1005;
            S.closes++;
            c_count_close(code);
            unsigned char cp[2] = {(unsigned char)(code >> 8), (unsigned char)code};
            c_send(c, o, make_frame(o, 0x8, cp, code == 1005 ? 0 : 2, 1));
            return -1;
        }
        default:
            S.proto_err++;
            return -1;
        }
        buf_consume(&c->in, f.total);
    }
    if (r < 0) { S.proto_err++; return -1; }
    return 0;
}

static void c_readable(cconn *c) {
    uint64_t t = now_ns();
    for (;;) {
        buf_reserve(&c->in, 4096);
        ssize_t n = read(c->fd, c->in.p + c->in.len, c->in.cap - c->in.len);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)) {
            if (c->state == C_OPEN) { S.closes++; S.eof_closes++; }
            else S.hs_fail++;
            c_dead(c);
            return;
        }
        if (n < 0) { if (errno == EINTR) continue; return; }
        c->in.len += (size_t)n;
        if (c->state == C_HANDSHAKE) {
            const char *head = (const char *)c->in.p + c->in.off;
            size_t avail = buf_avail(&c->in), vl = 0;
            const char *eoh = memmem(head, avail, "\r\n\r\n", 4);
            if (!eoh) { if (avail > 16384) { S.hs_fail++; c_dead(c); return; } continue; }
            size_t hlen = (size_t)(eoh - head) + 4;
            const char *acc = find_header(head, hlen, "Sec-WebSocket-Accept", &vl);
            if (hlen < 12 || memcmp(head, "HTTP/1.1 101", 12) != 0 || !acc || vl != strlen(c->accept) || memcmp(acc, c->accept, vl) != 0) {
                fprintf(stderr, "client: session %ld: handshake refused: %.*s\n", c->id, (int)(memchr(head, '\r', hlen) ? (const char *)memchr(head, '\r', hlen) - head : 40), head);
                S.hs_fail++;
                c_dead(c);
                return;
            }
            buf_consume(&c->in, hlen);
            c->state = C_OPEN;
            S.alive++;
            unsigned char o[64];
            static const char sub[] = "{\"op\":\"subscribe\"}";
            if (c_send(c, o, make_frame(o, 0x1, (const unsigned char *)sub, sizeof sub - 1, 1)) < 0) { S.closes++; S.eof_closes++; c_dead(c); return; }
            S.subscribed++;
        }
        if (c->state == C_OPEN && c_frames(c, t) < 0) { c_dead(c); return; }
    }
}

static int run_client(int argc, char **argv) {
    const char *connect_to = NULL;
    long sessions = 1000, id_base = 0;
    double ramp = 500, hold = 60, stall = 3;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--connect") && i + 1 < argc) connect_to = argv[++i];
        else if (!strcmp(argv[i], "--sessions") && i + 1 < argc) sessions = atol(argv[++i]);
        else if (!strcmp(argv[i], "--ramp") && i + 1 < argc) ramp = atof(argv[++i]);
        else if (!strcmp(argv[i], "--hold") && i + 1 < argc) hold = atof(argv[++i]);
        else if (!strcmp(argv[i], "--id-base") && i + 1 < argc) id_base = atol(argv[++i]);
        else if (!strcmp(argv[i], "--stall") && i + 1 < argc) stall = atof(argv[++i]);
        else { fprintf(stderr, "client: unknown argument %s\n", argv[i]); return 2; }
    }
    if (!connect_to || parse_hostport(connect_to, &g_target) < 0 || sessions <= 0 || ramp <= 0) {
        fprintf(stderr, "usage: rotbench client --connect HOST:PORT --sessions N --ramp R --hold S [--id-base B] [--stall S]\n");
        return 2;
    }
    snprintf(g_hostport, sizeof g_hostport, "%s", connect_to);
    raise_nofile();
    install_signals();
    srandom((unsigned)(now_ns() ^ (uint64_t)getpid()));
    S.sessions = sessions;
    cconn *cs = calloc((size_t)sessions, sizeof *cs);
    for (long i = 0; i < sessions; i++) { cs[i].id = id_base + i; cs[i].fd = -1; cs[i].state = C_DEAD; }
    g_ep = epoll_create1(0);
    int tfd = make_timer(0.01);
    ep_add(tfd, &TOK_TIMER, EPOLLIN);
    uint64_t start = now_ns(), ramp_done = 0, hold_end = 0, last_status = start, result_at = 0;
    long next = 0;
    struct epoll_event evs[512];
    while (!g_stop) {
        int n = epoll_wait(g_ep, evs, 512, 100);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if (p == &TOK_TIMER) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) < 0) { /* spurious */ }
                continue;
            }
            cconn *c = p;
            if (c->state == C_DEAD) continue;
            if (c->state == C_CONNECTING) {
                if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) c_connected(c);
                continue;
            }
            if ((evs[i].events & EPOLLOUT) && c_flush(c) < 0) {
                if (c->state == C_OPEN) { S.closes++; S.eof_closes++; } else S.hs_fail++;
                c_dead(c);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) c_readable(c);
        }
        uint64_t t = now_ns();
        long due = (long)((double)(t - start) / 1e9 * ramp) + 1;
        if (due > sessions) due = sessions;
        while (next < due) c_start(&cs[next++]);
        /* Ramp-up is over when every session had its first message or died (or, as a bound,
         * 30 s after the last one was started). */
        if (!ramp_done && next == sessions &&
            (S.settled >= sessions || t - start > (uint64_t)(((double)sessions / ramp + 30) * 1e9))) {
            ramp_done = t;
            hold_end = t + (uint64_t)(hold * 1e9);
            printf("ramp_done %llu %.3f\n", (unsigned long long)t, (double)(t - start) / 1e9);
            fflush(stdout);
            fprintf(stderr, "client: ramp done in %.1f s: %ld sessions with a first message, %ld connect failures, %ld handshake failures\n",
                    (double)(t - start) / 1e9, S.first_msg, S.conn_fail, S.hs_fail);
        }
        if (t - last_status > 10000000000ull) {
            fprintf(stderr, "client t=%.0fs started=%ld alive=%ld msgs=%llu gaps=%llu dups=%llu closes=%ld conn_fail=%ld hs_fail=%ld max_ia=%.0fms\n",
                    (double)(t - start) / 1e9, S.started, S.alive, (unsigned long long)S.msgs, (unsigned long long)S.gaps,
                    (unsigned long long)S.dups, S.closes, S.conn_fail, S.hs_fail, (double)S.max_ia_ns / 1e6);
            last_status = t;
        }
        if (ramp_done && !result_at && t >= hold_end) {
            result_at = t;
            long stalled = 0;
            uint64_t min_msgs = UINT64_MAX;
            for (long i = 0; i < sessions; i++) {
                if (cs[i].state != C_OPEN) continue;
                if (t - cs[i].last_msg_ns > (uint64_t)(stall * 1e9)) stalled++;
                if (cs[i].msgs < min_msgs) min_msgs = cs[i].msgs;
            }
            if (min_msgs == UINT64_MAX) min_msgs = 0;
            printf("{\"sessions\":%ld,\"started\":%ld,\"connected\":%ld,\"subscribed\":%ld,\"first_msg\":%ld,\"alive\":%ld,"
                   "\"stalled\":%ld,\"conn_fail\":%ld,\"hs_fail\":%ld,\"proto_err\":%ld,\"closes\":%ld,\"eof_closes\":%ld,"
                   "\"msgs\":%llu,\"min_msgs_per_session\":%llu,\"gaps\":%llu,\"missing\":%llu,\"dups\":%llu,\"other_msgs\":%ld,\"pings\":%llu,"
                   "\"max_interarrival_ms\":%.1f,\"interarrivals_over_0_5s\":%llu,\"interarrivals_over_1s\":%llu,"
                   "\"start_ns\":%llu,\"ramp_done_ns\":%llu,\"end_ns\":%llu,\"close_codes\":{",
                   S.sessions, S.started, S.connected, S.subscribed, S.first_msg, S.alive, stalled, S.conn_fail, S.hs_fail,
                   S.proto_err, S.closes, S.eof_closes, (unsigned long long)S.msgs, (unsigned long long)min_msgs,
                   (unsigned long long)S.gaps, (unsigned long long)S.missing, (unsigned long long)S.dups, S.other_msgs,
                   (unsigned long long)S.pings, (double)S.max_ia_ns / 1e6, (unsigned long long)S.ia_over_half,
                   (unsigned long long)S.ia_over_1s, (unsigned long long)start, (unsigned long long)ramp_done,
                   (unsigned long long)t);
            for (int k = 0; k < S.n_close_codes; k++) printf("%s\"%d\":%ld", k ? "," : "", S.close_code_val[k], S.close_codes[k]);
            printf("}}\n");
            fflush(stdout);
            fprintf(stderr, "client: result written; holding the sessions open until SIGTERM\n");
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "ticker")) return run_ticker(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "client")) return run_client(argc, argv);
    fprintf(stderr, "usage: rotbench ticker|client ... (see the comment at the top of rotbench.c)\n");
    return 2;
}
