/*
 * wsidle — idle WebSocket peer for the Lifeline idle-sessions benchmark.
 *
 *   wsidle upstream --listen IP:PORT [--connections N] [--interval S]
 *                   [--warmup S] [--hold S]
 *   wsidle client   --url ws://IP:PORT/PATH --connections N
 *                   [--ramp-per-second R] [--hold S] [--interval S]
 *                   [--warmup S] [--source-ips IP,IP,...] [--max-inflight K]
 *                   [--send-pings S]
 *
 * Both modes keep every connection idle: they never send data, they answer
 * each ping at once with a pong carrying the same payload (masked in client
 * mode, as RFC 6455 requires), and they record when each ping arrived
 * (the kernel's receive timestamp, SO_TIMESTAMPNS). The measured quantity is
 * ping LATENESS: for every pair of consecutive pings on one connection,
 * lateness = gap - interval. A proxy that pings exactly every interval has
 * lateness ~0; a proxy whose timers fire late (overloaded loop, timer
 * coalescing, batching) shows it here. On loopback the kernel timestamp is
 * taken while Lifeline's send() runs, so wsidle's own scheduling delay is not
 * counted as Lifeline's lateness; it is reported separately as reader_delay
 * (kernel timestamp -> wsidle read it), to show whether wsidle kept up.
 *
 * --send-pings S (client only): every open connection also sends a ping every
 * S seconds, spread evenly over the connections (connection i at phase i/N).
 * Through a plain proxy (nginx, HAProxy) that gives each TCP leg one ping and
 * one pong per S seconds, the same wire traffic as a proxy that pings both of
 * its sides itself; the upstream's lateness then measures this schedule plus
 * the relay's delay. Pongs that come back are ignored.
 *
 * Measurement window: it starts --warmup seconds after the process is "ready"
 * (client: all N connections upgraded or given up; upstream: N upgraded, or
 * the first one if --connections is not given), or at SIGUSR2, whichever comes
 * first; SIGUSR2 always restarts it (clears samples). A lateness sample
 * belongs to the window when its second ping arrives inside it.
 *
 * Output: one JSON object on stdout at the end of --hold (counted from ready),
 * at SIGTERM/SIGINT (then exit) or at SIGUSR1 (then continue).
 * Progress lines go to stderr.
 *
 * Single thread, epoll (level-triggered), libc + libcrypto (SHA1 only).
 * Per-connection state is 352 bytes plus a 2 KiB buffer during the handshake
 * only; the read buffer is shared.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { MODE_UPSTREAM = 1, MODE_CLIENT = 2 };
enum { ST_FREE = 0, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

#define HS_CAP 2048   /* handshake buffer, freed once upgraded */
#define PEND_CAP 144  /* longest control frame: 2 + 4 + 125 bytes, plus slack */
#define OUT_CAP 160   /* queued pongs when the socket would block (rare) */

typedef struct conn {
    int fd;
    uint8_t state;
    uint8_t npend;
    uint8_t nout;
    uint8_t attempts;
    uint8_t want_out;
    uint16_t hslen;
    uint32_t pings;         /* pings received, whole life */
    uint32_t pings_window;  /* pings received inside the window */
    int64_t last_ping_ns;   /* arrival of the previous ping, 0 = none */
    uint64_t skip;          /* payload bytes of a data frame still to discard */
    char *hs;               /* handshake buffer (NULL once open) */
    uint8_t pend[PEND_CAP]; /* incomplete frame header / control frame */
    uint8_t out[OUT_CAP];
} conn;

/* ---- options ---- */
static int mode;
static char listen_ip[64] = "127.0.0.1";
static int listen_port;
static char url_host[256], url_path[1024] = "/";
static int url_port = 80;
static long n_conns = 0;
static double ramp_per_s = 1000;
static double hold_s = 0; /* 0 = until signal */
static double interval_s = 1.0;
static double warmup_s = 0;
static int max_inflight = 1000;
static double send_ping_s = 0; /* client: send a ping on every connection this often; 0 = never */
static struct in_addr src_ips[64];
static int n_src_ips;

/* ---- state ---- */
static int epfd, lfd = -1;
static conn **conns;
static long conns_len, conns_cap;
static long opened, established, open_now, connect_failures, dropped, inflight, upgraded_total;
static long handshake_rejects;
static long pongs_dropped;
static uint64_t pings_total, pongs_sent, pings_sent;
static int64_t t_start, t_ready, t_window = INT64_MAX, t_ramp_done;
static int ready;
typedef struct { int32_t *v; size_t n, cap; } sampleset;
static sampleset lat;    /* lateness (gap - interval) in microseconds */
static sampleset rdelay; /* kernel arrival -> this process reading it, microseconds */
static int64_t g_ping_rt; /* kernel receive timestamp (CLOCK_REALTIME) of the bytes being parsed */
static int64_t g_now_rt;  /* when this process read them (CLOCK_REALTIME) */
static uint64_t pings_no_kts;
/* per second of the window (by read time): pairs, pairs later than 50 ms, max lateness (us) */
#define MAX_SECS 3600
static uint32_t sec_pairs[MAX_SECS], sec_over50[MAX_SECS];
static int32_t sec_max[MAX_SECS];
static uint64_t samples_dropped;
static struct rusage ru_window;
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static volatile sig_atomic_t sig_term, sig_dump, sig_reset;
static uint8_t rbuf[65536 + PEND_CAP];

static int64_t rt_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static uint32_t rnd32(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)rng;
}

static void die(const char *m) { perror(m); exit(1); }

static void on_signal(int s) {
    if (s == SIGUSR1) sig_dump = 1;
    else if (s == SIGUSR2) sig_reset = 1;
    else sig_term = 1;
}

static void add_conn(conn *c) {
    if (conns_len == conns_cap) {
        conns_cap = conns_cap ? conns_cap * 2 : 1024;
        conns = realloc(conns, conns_cap * sizeof *conns);
        if (!conns) die("realloc");
    }
    conns[conns_len++] = c;
}

static void start_window(int64_t t) {
    t_window = t;
    lat.n = rdelay.n = 0;
    samples_dropped = 0;
    memset(sec_pairs, 0, sizeof sec_pairs);
    memset(sec_over50, 0, sizeof sec_over50);
    for (int i = 0; i < MAX_SECS; i++) sec_max[i] = INT32_MIN;
    for (long i = 0; i < conns_len; i++) conns[i]->pings_window = 0;
    getrusage(RUSAGE_SELF, &ru_window);
}

static void add_sample(sampleset *s, int64_t ns) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : (1 << 20);
        if (nc > (size_t)200 * 1000 * 1000) { samples_dropped++; return; }
        int32_t *p = realloc(s->v, nc * sizeof *p);
        if (!p) { samples_dropped++; return; }
        s->v = p;
        s->cap = nc;
    }
    int64_t us = ns / 1000;
    if (us > INT32_MAX) us = INT32_MAX;
    if (us < INT32_MIN) us = INT32_MIN;
    s->v[s->n++] = (int32_t)us;
}

static void ep_set(conn *c, int op, uint32_t ev) {
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(epfd, op, c->fd, &e) < 0) die("epoll_ctl");
}

static void conn_close(conn *c, int count_drop) {
    if (c->state == ST_CLOSED || c->state == ST_FREE) return;
    if (c->state == ST_OPEN) {
        open_now--;
        if (count_drop) dropped++;
    } else if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE) {
        if (mode == MODE_CLIENT) inflight--;
    }
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    free(c->hs);
    c->hs = NULL;
    c->state = ST_CLOSED;
}

/* Queue or send bytes; returns -1 if the connection had to be closed. */
static int conn_send(conn *c, const uint8_t *p, size_t n) {
    if (c->nout == 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w == (ssize_t)n) return 0;
        if (w < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK) { conn_close(c, 1); return -1; }
            w = 0;
        }
        p += w; n -= w;
    }
    if (c->nout + n > OUT_CAP) { pongs_dropped++; return 0; }
    memcpy(c->out + c->nout, p, n);
    c->nout += n;
    if (!c->want_out) { c->want_out = 1; ep_set(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT); }
    return 0;
}

static int flush_out(conn *c) {
    if (c->nout) {
        ssize_t w = send(c->fd, c->out, c->nout, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            conn_close(c, 1);
            return -1;
        }
        memmove(c->out, c->out + w, c->nout - w);
        c->nout -= w;
    }
    if (c->nout == 0 && c->want_out) { c->want_out = 0; ep_set(c, EPOLL_CTL_MOD, EPOLLIN); }
    return 0;
}

/* Build a control frame (pong or close) from this side. */
static size_t make_frame(uint8_t *f, int opcode, const uint8_t *pl, size_t n) {
    size_t k = 0;
    f[k++] = 0x80 | opcode;
    if (mode == MODE_CLIENT) {
        uint32_t m = rnd32();
        uint8_t mk[4];
        memcpy(mk, &m, 4);
        f[k++] = 0x80 | (uint8_t)n;
        memcpy(f + k, mk, 4); k += 4;
        for (size_t i = 0; i < n; i++) f[k + i] = pl[i] ^ mk[i & 3];
    } else {
        f[k++] = (uint8_t)n;
        memcpy(f + k, pl, n);
    }
    return k + n;
}

/* t: monotonic time of the read (decides window membership). The ping's time
 * is the kernel's receive timestamp of the segment (g_ping_rt): on loopback
 * that is the moment Lifeline wrote it, so this process's own scheduling delay
 * does not count as Lifeline lateness; that delay is recorded separately. */
static void on_ping(conn *c, int64_t t) {
    pings_total++;
    c->pings++;
    int64_t pt = g_ping_rt;
    if (!pt) { pt = g_now_rt; pings_no_kts++; }
    if (t >= t_window) {
        c->pings_window++;
        if (c->last_ping_ns) {
            int64_t l = pt - c->last_ping_ns - (int64_t)(interval_s * 1e9);
            add_sample(&lat, l);
            int64_t sec = (t - t_window) / 1000000000ll;
            if (sec < MAX_SECS) {
                sec_pairs[sec]++;
                if (l > 50000000) sec_over50[sec]++;
                if (l / 1000 > sec_max[sec]) sec_max[sec] = (int32_t)(l / 1000 > INT32_MAX ? INT32_MAX : l / 1000);
            }
        }
        add_sample(&rdelay, g_now_rt - pt);
    }
    c->last_ping_ns = pt;
}

/* Parse frames in p[0..n); keep an incomplete tail in c->pend. */
static int process_frames(conn *c, uint8_t *p, size_t n, int64_t t) {
    while (n > 0) {
        if (c->skip) {
            size_t k = c->skip < n ? (size_t)c->skip : n;
            c->skip -= k; p += k; n -= k;
            continue;
        }
        if (n < 2) break;
        int op = p[0] & 0x0f;
        int masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7f;
        size_t h = 2;
        if (len == 126) { if (n < 4) break; len = ((uint64_t)p[2] << 8) | p[3]; h = 4; }
        else if (len == 127) {
            if (n < 10) break;
            len = 0;
            for (int i = 0; i < 8; i++) len = (len << 8) | p[2 + i];
            h = 10;
        }
        uint8_t mk[4] = {0};
        if (masked) { if (n < h + 4) break; memcpy(mk, p + h, 4); h += 4; }
        if (op >= 8) { /* control frame: need it whole */
            if (len > 125) { conn_close(c, 1); return -1; }
            if (n < h + len) break;
            uint8_t pl[125];
            for (size_t i = 0; i < len; i++) pl[i] = p[h + i] ^ mk[i & 3];
            uint8_t f[2 + 4 + 125];
            if (op == 0x9) {
                on_ping(c, t);
                size_t fl = make_frame(f, 0xA, pl, len);
                if (conn_send(c, f, fl) < 0) return -1;
                pongs_sent++;
            } else if (op == 0x8) {
                size_t fl = make_frame(f, 0x8, pl, len >= 2 ? 2 : 0);
                send(c->fd, f, fl, MSG_NOSIGNAL);
                conn_close(c, 1);
                return -1;
            } /* unsolicited pong: ignore */
            p += h + len; n -= h + len;
        } else { /* data: discard, we are idle */
            p += h; n -= h;
            c->skip = len;
        }
    }
    if (n > PEND_CAP) { conn_close(c, 1); return -1; }
    memmove(c->pend, p, n);
    c->npend = (uint8_t)n;
    return 0;
}

static void b64(const uint8_t *in, size_t n, char *out) {
    static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, k = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (in[i] << 16) | (in[i + 1] << 8) | in[i + 2];
        out[k++] = tb[v >> 18]; out[k++] = tb[(v >> 12) & 63];
        out[k++] = tb[(v >> 6) & 63]; out[k++] = tb[v & 63];
    }
    if (i < n) {
        uint32_t v = in[i] << 16;
        if (i + 1 < n) v |= in[i + 1] << 8;
        out[k++] = tb[v >> 18]; out[k++] = tb[(v >> 12) & 63];
        out[k++] = i + 1 < n ? tb[(v >> 6) & 63] : '=';
        out[k++] = '=';
    }
    out[k] = 0;
}

static void accept_key(const char *key, size_t klen, char out[32]) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char tmp[128 + sizeof guid];
    if (klen > 128) klen = 128;
    memcpy(tmp, key, klen);
    memcpy(tmp + klen, guid, sizeof guid - 1);
    uint8_t d[20];
    SHA1((const uint8_t *)tmp, klen + sizeof guid - 1, d);
    b64(d, 20, out);
}

static void check_ready(int64_t t) {
    if (ready) return;
    int done = 0;
    if (mode == MODE_CLIENT) done = (established + connect_failures >= n_conns);
    else done = n_conns ? (upgraded_total >= n_conns) : (upgraded_total >= 1);
    if (!done) return;
    ready = 1;
    t_ready = t;
    fprintf(stderr, "wsidle %s: ready after %.2f s: %ld open, %ld failed\n",
            mode == MODE_CLIENT ? "client" : "upstream", (t - t_start) / 1e9, open_now, connect_failures);
    if (t_window == INT64_MAX) t_window = t + (int64_t)(warmup_s * 1e9);
}

static void became_open(conn *c, int64_t t) {
    c->state = ST_OPEN;
    open_now++;
    established++;
    upgraded_total++;
    if (mode == MODE_CLIENT) inflight--;
    c->pings_window = 0;
    check_ready(t);
}

/* Upstream: read the upgrade request, answer 101. */
static void upstream_handshake(conn *c, int64_t t) {
    ssize_t r = recv(c->fd, c->hs + c->hslen, HS_CAP - 1 - c->hslen, 0);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        conn_close(c, 0);
        return;
    }
    c->hslen += r;
    c->hs[c->hslen] = 0;
    char *end = strstr(c->hs, "\r\n\r\n");
    if (!end) {
        if (c->hslen >= HS_CAP - 1) { handshake_rejects++; conn_close(c, 0); }
        return;
    }
    char *k = NULL;
    for (char *line = strstr(c->hs, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Sec-WebSocket-Key:", 18) == 0) { k = line + 2 + 18; break; }
    }
    if (!k) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send(c->fd, bad, sizeof bad - 1, MSG_NOSIGNAL);
        handshake_rejects++;
        conn_close(c, 0);
        return;
    }
    while (*k == ' ' || *k == '\t') k++;
    char *ke = k;
    while (*ke && *ke != '\r' && *ke != ' ') ke++;
    char acc[32];
    accept_key(k, ke - k, acc);
    char resp[256];
    int rl = snprintf(resp, sizeof resp,
                      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
    if (send(c->fd, resp, rl, MSG_NOSIGNAL) != rl) { conn_close(c, 0); return; }
    size_t used = (end + 4) - c->hs;
    size_t rest = c->hslen - used;
    uint8_t tail[HS_CAP];
    memcpy(tail, end + 4, rest);
    free(c->hs);
    c->hs = NULL;
    became_open(c, t);
    if (rest) { g_ping_rt = 0; g_now_rt = rt_ns(); process_frames(c, tail, rest, t); }
}

static void client_fail(conn *c);

static void client_send_request(conn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) { errno = err; goto fail; }
    uint8_t kraw[16];
    for (int i = 0; i < 16; i += 4) { uint32_t v = rnd32(); memcpy(kraw + i, &v, 4); }
    char key[32];
    b64(kraw, 16, key);
    char req[1600];
    int rl = snprintf(req, sizeof req,
                      "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
                      url_path, url_host, url_port, key);
    if (send(c->fd, req, rl, MSG_NOSIGNAL) != rl) goto fail;
    c->state = ST_HANDSHAKE;
    c->hs = malloc(HS_CAP);
    if (!c->hs) die("malloc");
    c->hslen = 0;
    ep_set(c, EPOLL_CTL_MOD, EPOLLIN);
    return;
fail:
    client_fail(c);
}

static int client_connect(conn *c);

static void client_fail(conn *c) {
    conn_close(c, 0);
    if (c->attempts < 3) {
        client_connect(c); /* retry at once; the ramp is already paced */
    } else {
        connect_failures++;
        check_ready(now_ns());
    }
}

static void client_handshake(conn *c, int64_t t) {
    ssize_t r = recv(c->fd, c->hs + c->hslen, HS_CAP - 1 - c->hslen, 0);
    if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        client_fail(c);
        return;
    }
    c->hslen += r;
    c->hs[c->hslen] = 0;
    char *end = strstr(c->hs, "\r\n\r\n");
    if (!end) {
        if (c->hslen >= HS_CAP - 1) { handshake_rejects++; client_fail(c); }
        return;
    }
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) {
        if (handshake_rejects++ < 5) {
            char *nl = strstr(c->hs, "\r\n");
            if (nl) *nl = 0;
            fprintf(stderr, "wsidle client: upgrade refused: %s\n", c->hs);
        }
        client_fail(c);
        return;
    }
    size_t used = (end + 4) - c->hs;
    size_t rest = c->hslen - used;
    uint8_t tail[HS_CAP];
    memcpy(tail, end + 4, rest);
    free(c->hs);
    c->hs = NULL;
    became_open(c, t);
    if (rest) { g_ping_rt = 0; g_now_rt = rt_ns(); process_frames(c, tail, rest, t); }
}

static int client_connect(conn *c) {
    c->attempts++;
    c->state = ST_CONNECTING;
    c->npend = c->nout = c->want_out = 0;
    c->skip = 0;
    c->last_ping_ns = 0;
    inflight++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { perror("socket"); c->fd = -1; c->state = ST_CLOSED; inflight--; connect_failures++; return -1; }
    c->fd = fd;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (n_src_ips) {
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0};
        sa.sin_addr = src_ips[opened % n_src_ips];
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); }
    }
    struct sockaddr_in da = {.sin_family = AF_INET, .sin_port = htons(url_port)};
    inet_pton(AF_INET, url_host, &da.sin_addr);
    ep_set(c, EPOLL_CTL_ADD, EPOLLOUT);
    int r = connect(fd, (struct sockaddr *)&da, sizeof da);
    if (r < 0 && errno != EINPROGRESS) {
        static int warned;
        if (warned++ < 5) perror("connect");
        conn_close(c, 0);
        connect_failures++;
        return -1;
    }
    return 0;
}

/* --send-pings: send every ping that is due by t, one connection at a time in
 * pool order, so each connection pings once per send_ping_s; returns the ms
 * until the next one is due (at least 1, to batch the wake-ups). */
static int send_due_pings(conn *pool, int64_t t) {
    static int64_t next_t;
    static long cursor;
    int64_t step = (int64_t)(send_ping_s * 1e9 / n_conns);
    if (step < 1) step = 1;
    if (!next_t) next_t = t + (int64_t)(send_ping_s * 1e9);
    while (next_t <= t) {
        conn *c = &pool[cursor];
        if (c->state == ST_OPEN) {
            uint8_t pl[8], f[2 + 4 + 8];
            memcpy(pl, &next_t, 8);
            if (conn_send(c, f, make_frame(f, 0x9, pl, 8)) == 0) pings_sent++;
        }
        cursor = (cursor + 1) % n_conns;
        next_t += step;
    }
    int64_t ms = (next_t - t) / 1000000;
    return ms < 1 ? 1 : ms > 100 ? 100 : (int)ms;
}

static void on_event(conn *c, uint32_t ev, int64_t t) {
    if (c->state == ST_CONNECTING) {
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) client_send_request(c);
        return;
    }
    if (c->state == ST_HANDSHAKE) {
        if (mode == MODE_CLIENT) client_handshake(c, t);
        else upstream_handshake(c, t);
        return;
    }
    if (c->state != ST_OPEN) return;
    if (ev & EPOLLOUT) { if (flush_out(c) < 0) return; }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        memcpy(rbuf, c->pend, c->npend);
        struct iovec iov = {.iov_base = rbuf + c->npend, .iov_len = sizeof rbuf - c->npend};
        union { char buf[CMSG_SPACE(sizeof(struct timespec)) * 2]; struct cmsghdr align; } cb;
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.buf, .msg_controllen = sizeof cb.buf};
        ssize_t r = recvmsg(c->fd, &mh, 0);
        g_now_rt = rt_ns();
        g_ping_rt = 0;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); r > 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(cm), sizeof ts);
                g_ping_rt = (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
            }
        if (r <= 0) {
            if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            conn_close(c, 1);
            return;
        }
        size_t n = c->npend + (size_t)r;
        c->npend = 0;
        process_frames(c, rbuf, n, t);
    }
}

static void do_accept(int64_t t) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            if (errno == EMFILE || errno == ENFILE) {
                static int w;
                if (w++ < 3) perror("accept4");
                return;
            }
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        conn *c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        c->state = ST_HANDSHAKE;
        c->hs = malloc(HS_CAP);
        if (!c->hs) die("malloc");
        add_conn(c);
        ep_set(c, EPOLL_CTL_ADD, EPOLLIN);
        (void)t;
    }
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static double pct(const sampleset *s, double q) {
    if (!s->n) return 0;
    size_t i = (size_t)(q * (s->n - 1) + 0.5);
    if (i >= s->n) i = s->n - 1;
    return s->v[i] / 1000.0;
}

static double tv(struct timeval a) { return a.tv_sec + a.tv_usec / 1e6; }

/* sorts s, prints "name":{min,p50,...} */
static void print_dist(const char *name, sampleset *s) {
    qsort(s->v, s->n, sizeof *s->v, cmp_i32);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++) sum += s->v[i];
    printf("\"%s\":{\"n\":%zu,\"min\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,\"mean\":%.3f}",
           name, s->n, s->n ? s->v[0] / 1000.0 : 0, pct(s, 0.5), pct(s, 0.9), pct(s, 0.99), pct(s, 0.999),
           s->n ? s->v[s->n - 1] / 1000.0 : 0, s->n ? sum / s->n / 1000.0 : 0);
}

static void dump(int64_t t) {
    size_t over50 = 0, over100 = 0, over500 = 0;
    for (size_t i = 0; i < lat.n; i++) {
        if (lat.v[i] > 50000) over50++;
        if (lat.v[i] > 100000) over100++;
        if (lat.v[i] > 500000) over500++;
    }
    long silent = 0;
    for (long i = 0; i < conns_len; i++)
        if (conns[i]->state == ST_OPEN && conns[i]->pings_window == 0) silent++;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double win = t_window <= t ? (t - t_window) / 1e9 : 0;
    double cpu_win = t_window <= t ? (tv(ru.ru_utime) - tv(ru_window.ru_utime)) + (tv(ru.ru_stime) - tv(ru_window.ru_stime)) : 0;
    printf("{\"mode\":\"%s\",\"connections_target\":%ld,\"connections_established\":%ld,"
           "\"connections_open\":%ld,\"connect_failures\":%ld,\"handshake_rejects\":%ld,\"dropped\":%ld,"
           "\"ramp_seconds\":%.3f,\"window_seconds\":%.3f,\"interval_ms\":%.3f,"
           "\"pings_received_total\":%llu,\"pongs_sent_total\":%llu,\"pings_sent_total\":%llu,\"pongs_dropped\":%ld,"
           "\"pings_without_kernel_timestamp\":%llu,"
           "\"lateness_pairs\":%zu,\"samples_dropped\":%llu,"
           "\"open_conns_without_ping_in_window\":%ld,",
           mode == MODE_CLIENT ? "client" : "upstream", n_conns, established, open_now, connect_failures,
           handshake_rejects, dropped, ready ? (t_ready - t_start) / 1e9 : -1.0, win, interval_s * 1000,
           (unsigned long long)pings_total, (unsigned long long)pongs_sent, (unsigned long long)pings_sent, pongs_dropped,
           (unsigned long long)pings_no_kts, lat.n, (unsigned long long)samples_dropped, silent);
    print_dist("lateness_ms", &lat);
    printf(",");
    print_dist("reader_delay_ms", &rdelay);
    int nsec = (int)win + 1;
    if (nsec > MAX_SECS) nsec = MAX_SECS;
    if (win <= 0) nsec = 0;
    printf(",\"per_second\":{\"pairs\":[");
    for (int i = 0; i < nsec; i++) printf("%s%u", i ? "," : "", sec_pairs[i]);
    printf("],\"over_50ms\":[");
    for (int i = 0; i < nsec; i++) printf("%s%u", i ? "," : "", sec_over50[i]);
    printf("],\"max_ms\":[");
    for (int i = 0; i < nsec; i++) printf("%s%.1f", i ? "," : "", sec_pairs[i] ? sec_max[i] / 1000.0 : 0.0);
    printf("]}");
    printf(",\"pairs_late_over_50ms\":%zu,\"pairs_late_over_100ms\":%zu,\"pairs_late_over_500ms\":%zu,"
           "\"cpu_seconds_total\":%.3f,\"cpu_seconds_window\":%.3f,\"cpu_pct_window\":%.2f,\"maxrss_kib\":%ld}\n",
           over50, over100, over500, tv(ru.ru_utime) + tv(ru.ru_stime), cpu_win,
           win > 0 ? 100.0 * cpu_win / win : 0, ru.ru_maxrss);
    fflush(stdout);
}

static void usage(void) {
    fprintf(stderr,
            "usage: wsidle upstream --listen IP:PORT [--connections N] [--interval S] [--warmup S] [--hold S]\n"
            "       wsidle client --url ws://IP:PORT/ --connections N [--ramp-per-second R] [--hold S]\n"
            "                     [--interval S] [--warmup S] [--source-ips IP,IP] [--max-inflight K]\n"
            "                     [--send-pings S]\n");
    exit(2);
}

static void parse_hostport(const char *s, char *host, size_t hcap, int *port) {
    const char *c = strrchr(s, ':');
    if (!c) usage();
    size_t hl = c - s;
    if (hl >= hcap) usage();
    memcpy(host, s, hl);
    host[hl] = 0;
    *port = atoi(c + 1);
}

int main(int argc, char **argv) {
    if (argc < 2) usage();
    if (!strcmp(argv[1], "upstream")) mode = MODE_UPSTREAM;
    else if (!strcmp(argv[1], "client")) mode = MODE_CLIENT;
    else usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) usage();
        i++;
        if (!strcmp(a, "--listen")) parse_hostport(v, listen_ip, sizeof listen_ip, &listen_port);
        else if (!strcmp(a, "--url")) {
            if (strncmp(v, "ws://", 5)) { fprintf(stderr, "only ws:// URLs\n"); exit(2); }
            const char *hp = v + 5, *sl = strchr(hp, '/');
            char tmp[256];
            size_t hl = sl ? (size_t)(sl - hp) : strlen(hp);
            if (hl >= sizeof tmp) usage();
            memcpy(tmp, hp, hl);
            tmp[hl] = 0;
            if (strchr(tmp, ':')) parse_hostport(tmp, url_host, sizeof url_host, &url_port);
            else snprintf(url_host, sizeof url_host, "%s", tmp);
            snprintf(url_path, sizeof url_path, "%s", sl ? sl : "/");
        } else if (!strcmp(a, "--connections")) n_conns = atol(v);
        else if (!strcmp(a, "--ramp-per-second")) ramp_per_s = atof(v);
        else if (!strcmp(a, "--hold")) hold_s = atof(v);
        else if (!strcmp(a, "--interval")) interval_s = atof(v);
        else if (!strcmp(a, "--warmup")) warmup_s = atof(v);
        else if (!strcmp(a, "--max-inflight")) max_inflight = atoi(v);
        else if (!strcmp(a, "--send-pings")) send_ping_s = atof(v);
        else if (!strcmp(a, "--source-ips")) {
            char buf[2048];
            snprintf(buf, sizeof buf, "%s", v);
            for (char *tok = strtok(buf, ","); tok && n_src_ips < 64; tok = strtok(NULL, ","))
                if (inet_pton(AF_INET, tok, &src_ips[n_src_ips]) == 1) n_src_ips++;
                else { fprintf(stderr, "bad source ip %s\n", tok); exit(2); }
        } else usage();
    }
    if (mode == MODE_CLIENT && (n_conns <= 0 || !url_host[0])) usage();
    if (mode == MODE_UPSTREAM && !listen_port) usage();
    if (ramp_per_s <= 0) ramp_per_s = 1e9;

    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (mode == MODE_CLIENT && (rlim_t)n_conns + 16 > rl.rlim_cur)
        fprintf(stderr, "wsidle: warning: %ld connections but only %lu fds allowed\n", n_conns, (unsigned long)rl.rlim_cur);

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    rng ^= (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);

    for (int i = 0; i < MAX_SECS; i++) sec_max[i] = INT32_MIN;
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    t_start = now_ns();

    conn *pool = NULL;
    if (mode == MODE_UPSTREAM) {
        lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = htons(listen_port)};
        if (inet_pton(AF_INET, listen_ip, &la.sin_addr) != 1) { fprintf(stderr, "bad listen ip\n"); exit(2); }
        if (bind(lfd, (struct sockaddr *)&la, sizeof la) < 0) die("bind");
        if (listen(lfd, 4096) < 0) die("listen");
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
        epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &e);
        fprintf(stderr, "wsidle upstream: listening on %s:%d\n", listen_ip, listen_port);
    } else {
        pool = calloc(n_conns, sizeof *pool);
        if (!pool) die("calloc");
        for (long i = 0; i < n_conns; i++) { pool[i].fd = -1; add_conn(&pool[i]); }
    }

    struct epoll_event evs[1024];
    int64_t last_progress = t_start;
    for (;;) {
        int64_t t = now_ns();
        if (sig_term) { dump(t); break; }
        if (sig_dump) { sig_dump = 0; dump(t); }
        if (sig_reset) { sig_reset = 0; start_window(t); fprintf(stderr, "wsidle: window restarted\n"); }
        if (ready && hold_s > 0 && t - t_ready >= (int64_t)(hold_s * 1e9)) { dump(t); break; }
        if (t >= t_window && t_window != INT64_MAX && ru_window.ru_utime.tv_sec == 0 && ru_window.ru_utime.tv_usec == 0 &&
            ru_window.ru_stime.tv_sec == 0 && ru_window.ru_stime.tv_usec == 0)
            getrusage(RUSAGE_SELF, &ru_window); /* warm-up ended: CPU for the window starts now */
        int timeout = 100;
        if (mode == MODE_CLIENT && opened < n_conns) {
            double el = (t - t_start) / 1e9;
            long allowed = (long)(el * ramp_per_s) + 1;
            if (allowed > n_conns) allowed = n_conns;
            while (opened < allowed && inflight < max_inflight) {
                conn *c = &pool[opened];
                opened++;
                client_connect(c);
            }
            if (opened == n_conns) t_ramp_done = t;
            timeout = 2;
        }
        if (mode == MODE_CLIENT && send_ping_s > 0) {
            int ms = send_due_pings(pool, t);
            if (ms < timeout) timeout = ms;
        }
        if (t - last_progress > 2000000000ll && !ready) {
            last_progress = t;
            fprintf(stderr, "wsidle %s: %ld open, %ld in flight, %ld failed\n",
                    mode == MODE_CLIENT ? "client" : "upstream", open_now, inflight, connect_failures);
        }
        int n = epoll_wait(epfd, evs, 1024, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int64_t te = now_ns();
            conn *c = evs[i].data.ptr;
            if (!c) { do_accept(te); continue; }
            on_event(c, evs[i].events, te);
        }
        if (mode == MODE_CLIENT) check_ready(now_ns());
    }
    return 0;
}
