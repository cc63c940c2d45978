/*
 * wsbench — WebSocket echo server and load generator for the Lifeline benchmark.
 *
 *   wsbench echo --listen 127.0.0.1:PORT
 *   wsbench echo [--listen 127.0.0.1:PORT] --tls-listen 127.0.0.1:PORT2 --tls-cert CERT.pem --tls-key KEY.pem
 *   wsbench load --url ws://127.0.0.1:PORT/path --connections 64 --inflight 4
 *                --size 1024 [--binary] --duration 10 [--warmup 2]
 *                [--rate MSGS_PER_SEC] [--no-verify] [--label NAME] [--json] [--connect-timeout S]
 *
 * Single thread, epoll, non-blocking sockets, libc + libcrypto (SHA-1 for the
 * handshake) + libssl (the echo server's optional TLS listener) only.
 * Build: gcc -O2 -o wsbench wsbench.c -lssl -lcrypto
 *
 * Echo server: RFC 6455 server side.  Every data frame is echoed with the same
 * opcode and FIN bit, unmasked (so fragmented messages come back fragmented the
 * same way); pings are answered with pongs; a close is answered with a close and
 * the socket is closed.  Frames may be split across reads or many per read.
 * All frames of one read burst are echoed with one write.  With --tls-listen it
 * also serves wss:// on a second port (OpenSSL, non-blocking SSL_accept /
 * SSL_read / SSL_write in the same epoll loop: the same echo, over TLS), and logs
 * one line per completed TLS handshake ("tls: VERSION CIPHER resumed=0|1 sni=NAME")
 * so that a benchmark can check what its proxies negotiated.
 *
 * Load generator: N connections, HTTP upgrade (checks 101 and
 * Sec-WebSocket-Accept), then either a closed loop (`--inflight` messages
 * outstanding per connection; each echo triggers the next send) or, with
 * `--rate`, an open loop at a fixed total rate spread round-robin over the
 * connections.  Each message carries its send time (CLOCK_MONOTONIC ns, as 16
 * hex digits so text frames stay valid UTF-8) in its first 16 bytes; the rest is
 * a fixed ASCII pattern that is checked on the way back unless --no-verify.
 * Replies are parsed as a stream (no per-message buffering, no malloc per
 * message); RTTs go into a log-linear histogram (128 sub-buckets per power of
 * two: < 0.8 % error).  Only echoes completed inside the measured window
 * (after warm-up) are counted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
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

#include "wscommon.h"
#define MAX_FRAME (16u << 20) /* echo: largest frame accepted (1 MiB required, 16 MiB allowed) */
#define RBUF_SIZE (256u << 10)

static void die(const char *m) { perror(m); exit(1); }

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL, 0);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
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
    if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
    return 0;
}



/* Find header `name` in an HTTP head (case-insensitive); returns value and length. */

/* XOR `n` bytes of src with the 4-byte mask into dst, 8 bytes at a time.
 * The mask phase starts at 0 (payload offset 0). dst may equal src. */
static inline void mask_copy(unsigned char *dst, const unsigned char *src, size_t n, const unsigned char key[4]) {
    uint64_t m;
    memcpy(&m, key, 4);
    memcpy((unsigned char *)&m + 4, key, 4);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, src + i, 8);
        v ^= m;
        memcpy(dst + i, &v, 8);
    }
    for (; i < n; i++) dst[i] = src[i] ^ key[i & 3];
}

/* ------------------------------------------------------------------------ */
/* Growable byte buffer: data lives in [off, len).                           */
typedef struct { unsigned char *p; size_t off, len, cap; } buf_t;

static void buf_reserve(buf_t *b, size_t extra) {
    if (b->cap - b->len >= extra) return;
    if (b->off > 0) { /* compact first */
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->cap - b->len >= extra) return;
    }
    size_t nc = b->cap ? b->cap : 65536;
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

/* ======================================================================== */
/* Echo server                                                               */
/* ======================================================================== */
typedef struct econn {
    int fd;
    int open;    /* 0 = waiting for the HTTP upgrade, 1 = WebSocket */
    int closing; /* close answered: close the socket once `out` is flushed */
    uint32_t evmask;
    buf_t in, out;
    /* TLS (--tls-listen) only; ssl == NULL on plain connections. */
    SSL *ssl;
    int tls_ready;       /* handshake done */
    int tls_rd_out;      /* SSL_read waits for writability (it had to send something) */
    /* listening sockets are econns too: */
    int listener;        /* 1 = listening socket */
    SSL_CTX *lctx;       /* listener: TLS context for accepted connections, or NULL */
} econn;

static int g_ep;
static unsigned long g_tls_failures;

static void econn_free(econn *c) {
    if (c->ssl) {
        if (c->tls_ready) SSL_shutdown(c->ssl); /* one non-blocking close_notify, result ignored */
        SSL_free(c->ssl);
    }
    close(c->fd);
    free(c->in.p);
    free(c->out.p);
    free(c);
}

#define IO_AGAIN (-2)
/* read()/write() or SSL_read()/SSL_write(): > 0 bytes, IO_AGAIN (would block), -1 (EOF or error). */
static ssize_t econn_read(econn *c, void *p, size_t n) {
    if (!c->ssl) {
        for (;;) {
            ssize_t r = read(c->fd, p, n);
            if (r > 0) return r;
            if (r == 0) return -1;
            if (errno == EINTR) continue;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? IO_AGAIN : -1;
        }
    }
    int r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0) return r;
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: return IO_AGAIN;
    case SSL_ERROR_WANT_WRITE: c->tls_rd_out = 1; return IO_AGAIN;
    default: ERR_clear_error(); return -1;
    }
}
static ssize_t econn_write(econn *c, const void *p, size_t n) {
    if (!c->ssl) {
        for (;;) {
            ssize_t r = write(c->fd, p, n);
            if (r > 0) return r;
            if (r < 0 && errno == EINTR) continue;
            return (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ? IO_AGAIN : -1;
        }
    }
    /* SSL_MODE_ENABLE_PARTIAL_WRITE: returns after each record; ACCEPT_MOVING_WRITE_BUFFER: a retry
     * may pass the (same, possibly compacted and grown) pending bytes at another address. */
    int r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0) return r;
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ: case SSL_ERROR_WANT_WRITE: return IO_AGAIN;
    default: ERR_clear_error(); return -1;
    }
}

static void ep_mod(int fd, void *ptr, uint32_t ev) {
    struct epoll_event e = {.events = ev, .data.ptr = ptr};
    if (epoll_ctl(g_ep, EPOLL_CTL_MOD, fd, &e) < 0) die("epoll_ctl mod");
}

/* Write as much of c->out as the socket takes. Returns -1 on a fatal error. */
static int econn_flush(econn *c) {
    while (buf_avail(&c->out)) {
        ssize_t n = econn_write(c, c->out.p + c->out.off, buf_avail(&c->out));
        if (n > 0) { buf_consume(&c->out, (size_t)n); continue; }
        if (n == IO_AGAIN) break;
        return -1;
    }
    /* Backpressure: stop reading while a lot is queued, poll for writability while anything is. */
    size_t pend = buf_avail(&c->out);
    uint32_t mask = pend == 0 ? EPOLLIN : pend > (4u << 20) ? EPOLLOUT : (EPOLLIN | EPOLLOUT);
    if (c->tls_rd_out) mask |= EPOLLOUT;
    if (mask != c->evmask) {
        c->evmask = mask;
        ep_mod(c->fd, c, mask);
    }
    if (!pend && c->closing) return -1;
    return 0;
}

static int echo_handshake(econn *c) {
    const char *head = (const char *)c->in.p + c->in.off;
    size_t avail = buf_avail(&c->in);
    const char *eoh = memmem(head, avail, "\r\n\r\n", 4);
    if (!eoh) return avail > 16384 ? -1 : 0;
    size_t hlen = (size_t)(eoh - head) + 4, klen = 0;
    const char *key = find_header(head, hlen, "Sec-WebSocket-Key", &klen);
    if (!key || klen == 0 || klen > 64) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        buf_reserve(&c->out, sizeof bad);
        memcpy(c->out.p + c->out.len, bad, sizeof bad - 1);
        c->out.len += sizeof bad - 1;
        c->closing = 1;
        buf_consume(&c->in, avail);
        return 0;
    }
    char acc[32];
    ws_accept(key, klen, acc);
    char resp[256];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
    buf_reserve(&c->out, (size_t)n);
    memcpy(c->out.p + c->out.len, resp, (size_t)n);
    c->out.len += (size_t)n;
    buf_consume(&c->in, hlen);
    c->open = 1;
    return 0;
}

/* Parse and echo every complete frame in c->in. Returns -1 to drop the connection. */
static int echo_frames(econn *c) {
    while (!c->closing) {
        size_t avail = buf_avail(&c->in);
        if (avail < 2) break;
        const unsigned char *f = c->in.p + c->in.off;
        unsigned b0 = f[0], b1 = f[1];
        unsigned op = b0 & 0x0f, masked = b1 >> 7;
        uint64_t plen = b1 & 0x7f;
        size_t h = 2;
        if (plen == 126) {
            if (avail < 4) break;
            plen = (uint64_t)f[2] << 8 | f[3];
            h = 4;
        } else if (plen == 127) {
            if (avail < 10) break;
            plen = 0;
            for (int i = 0; i < 8; i++) plen = plen << 8 | f[2 + i];
            h = 10;
        }
        if (plen > MAX_FRAME) return -1;
        const unsigned char *key = f + h;
        if (masked) h += 4;
        size_t total = h + (size_t)plen;
        if (avail < total) {
            buf_reserve(&c->in, total - avail); /* room for the rest of this frame */
            break;
        }
        const unsigned char *pay = f + h;
        unsigned oop = op;
        if (op == 0x9) oop = 0xA;                        /* ping -> pong */
        else if (op == 0xA) { buf_consume(&c->in, total); continue; } /* pong: ignore */
        else if (op == 0x8) c->closing = 1;              /* close: answer, then close */
        buf_reserve(&c->out, 10 + (size_t)plen);
        /* buf_reserve on out cannot move `in`, so f/pay stay valid */
        unsigned char *o = c->out.p + c->out.len;
        o[0] = (unsigned char)((b0 & 0x80) | oop);
        size_t oh;
        if (plen < 126) { o[1] = (unsigned char)plen; oh = 2; }
        else if (plen < 65536) { o[1] = 126; o[2] = (unsigned char)(plen >> 8); o[3] = (unsigned char)plen; oh = 4; }
        else { o[1] = 127; for (int i = 0; i < 8; i++) o[2 + i] = (unsigned char)(plen >> (56 - 8 * i)); oh = 10; }
        if (op == 0x8 && plen > 2) plen = 2, o[1] = 2; /* echo the close code only */
        if (masked) mask_copy(o + oh, pay, (size_t)plen, key);
        else memcpy(o + oh, pay, (size_t)plen);
        c->out.len += oh + (size_t)plen;
        buf_consume(&c->in, total);
    }
    return 0;
}

static int echo_readable(econn *c) {
    for (;;) {
        buf_reserve(&c->in, 65536);
        size_t room = c->in.cap - c->in.len;
        ssize_t n = econn_read(c, c->in.p + c->in.len, room);
        if (n == IO_AGAIN) break;
        if (n < 0) return -1;
        c->in.len += (size_t)n;
        if (!c->open && echo_handshake(c) < 0) return -1;
        if (c->open && echo_frames(c) < 0) return -1;
        if (c->closing || buf_avail(&c->out) > (4u << 20)) break;
        /* plain: a short read means the socket is drained; TLS: SSL_read returns one record at a
         * time, so read on until it would block */
        if (!c->ssl && (size_t)n < room) break;
    }
    return econn_flush(c); /* one write for the whole read burst */
}

/* Drive the server-side TLS handshake. Returns -1 on failure, 0 otherwise (c->tls_ready says
 * whether it is done). */
static int echo_tls_handshake(econn *c) {
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->tls_ready = 1;
        const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
        fprintf(stderr, "tls: %s %s resumed=%d sni=%s\n", SSL_get_version(c->ssl),
                SSL_CIPHER_get_name(SSL_get_current_cipher(c->ssl)), SSL_session_reused(c->ssl) ? 1 : 0,
                sni ? sni : "-");
        return 0;
    }
    int e = SSL_get_error(c->ssl, r);
    uint32_t mask;
    if (e == SSL_ERROR_WANT_READ) mask = EPOLLIN;
    else if (e == SSL_ERROR_WANT_WRITE) mask = EPOLLOUT;
    else {
        if (g_tls_failures++ < 5) {
            char msg[256] = "";
            unsigned long err = ERR_get_error();
            if (err) ERR_error_string_n(err, msg, sizeof msg);
            fprintf(stderr, "tls: handshake failed: %s\n", err ? msg : "connection closed");
        }
        ERR_clear_error();
        return -1;
    }
    if (mask != c->evmask) {
        c->evmask = mask;
        ep_mod(c->fd, c, mask);
    }
    return 0;
}

static econn *echo_listen(const char *at, SSL_CTX *ctx) {
    struct sockaddr_in sa;
    if (parse_hostport(at, &sa) < 0) { fprintf(stderr, "echo: bad listen address %s\n", at); exit(2); }
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0) die("echo: bind");
    if (listen(lfd, 4096) < 0) die("echo: listen");
    set_nonblock(lfd);
    econn *l = calloc(1, sizeof *l);
    l->fd = lfd;
    l->listener = 1;
    l->lctx = ctx;
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = l};
    epoll_ctl(g_ep, EPOLL_CTL_ADD, lfd, &e);
    fprintf(stderr, "wsbench echo listening on %s%s\n", at, ctx ? " (TLS)" : "");
    return l;
}

static SSL_CTX *echo_tls_context(const char *cert, const char *key) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) { ERR_print_errors_fp(stderr); exit(1); }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
        fprintf(stderr, "echo: cannot use --tls-cert %s / --tls-key %s\n", cert, key);
        ERR_print_errors_fp(stderr);
        exit(1);
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* session resumption (ids for TLS 1.2, tickets for both) so proxies that reuse sessions can */
    static const unsigned char sid[] = "wsbench-echo";
    SSL_CTX_set_session_id_context(ctx, sid, sizeof sid - 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    return ctx;
}

static int run_echo(int argc, char **argv) {
    const char *listen_at = NULL, *tls_at = NULL, *cert = NULL, *key = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--listen") && i + 1 < argc) listen_at = argv[++i];
        else if (!strcmp(argv[i], "--tls-listen") && i + 1 < argc) tls_at = argv[++i];
        else if (!strcmp(argv[i], "--tls-cert") && i + 1 < argc) cert = argv[++i];
        else if (!strcmp(argv[i], "--tls-key") && i + 1 < argc) key = argv[++i];
        else { fprintf(stderr, "echo: unknown argument %s\n", argv[i]); return 2; }
    }
    if (tls_at && (!cert || !key)) { fprintf(stderr, "echo: --tls-listen needs --tls-cert and --tls-key\n"); return 2; }
    if (!tls_at && (cert || key)) { fprintf(stderr, "echo: --tls-cert/--tls-key need --tls-listen\n"); return 2; }
    if (!listen_at && !tls_at) listen_at = "127.0.0.1:9000";
    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    int one = 1;
    g_ep = epoll_create1(0);
    if (listen_at) echo_listen(listen_at, NULL);
    if (tls_at) echo_listen(tls_at, echo_tls_context(cert, key));
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(g_ep, evs, 256, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            econn *c = evs[i].data.ptr;
            if (c->listener) {
                for (;;) {
                    int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    econn *nc = calloc(1, sizeof *nc);
                    nc->fd = fd;
                    nc->evmask = EPOLLIN;
                    if (c->lctx) {
                        nc->ssl = SSL_new(c->lctx);
                        if (!nc->ssl || SSL_set_fd(nc->ssl, fd) != 1) { ERR_print_errors_fp(stderr); exit(1); }
                        SSL_set_accept_state(nc->ssl);
                    }
                    struct epoll_event ce = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ce);
                }
                continue;
            }
            uint32_t ev = evs[i].events;
            int r = 0;
            if (ev & (EPOLLERR)) r = -1;
            if (!r && c->ssl && !c->tls_ready) {
                r = echo_tls_handshake(c);
                if (!r && !c->tls_ready) continue;
                if (!r) ev |= EPOLLIN; /* the request may already be there */
            }
            if (!r && (ev & EPOLLOUT)) {
                r = econn_flush(c);
                if (!r && c->tls_rd_out) { c->tls_rd_out = 0; r = echo_readable(c); }
            }
            if (!r && (ev & (EPOLLIN | EPOLLHUP))) r = echo_readable(c);
            /* TLS: bytes already decrypted inside OpenSSL do not wake epoll; read them now if
             * reading was paused for backpressure and has just resumed */
            if (!r && c->ssl && (c->evmask & EPOLLIN) && SSL_pending(c->ssl) > 0) r = echo_readable(c);
            if (r < 0) econn_free(c);
        }
    }
}

/* ======================================================================== */
/* Load generator                                                            */
/* ======================================================================== */
#define H_SUB 128
#define H_BUCKETS (58 * H_SUB)
static uint64_t g_hist[H_BUCKETS];
static uint64_t g_hist_n, g_rtt_sum, g_rtt_max;

static inline int h_index(uint64_t v) {
    if (v < H_SUB) return (int)v;
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - 7;
    return (shift + 1) * H_SUB + (int)((v >> shift) & (H_SUB - 1));
}
static double h_value(int idx) { /* bucket midpoint, ns */
    if (idx < H_SUB) return idx;
    int shift = idx / H_SUB - 1, sub = idx % H_SUB;
    return (double)((uint64_t)(H_SUB + sub) << shift) + (double)(1ull << shift) / 2.0;
}
static inline void h_record(uint64_t v) {
    g_hist[h_index(v)]++;
    g_hist_n++;
    g_rtt_sum += v;
    if (v > g_rtt_max) g_rtt_max = v;
}
static double h_pct(double q) { /* µs */
    if (!g_hist_n) return 0;
    uint64_t target = (uint64_t)(q * (double)g_hist_n + 0.999999);
    if (target < 1) target = 1;
    uint64_t cum = 0;
    for (int i = 0; i < H_BUCKETS; i++) {
        cum += g_hist[i];
        if (cum >= target) return h_value(i) / 1000.0;
    }
    return g_rtt_max / 1000.0;
}

enum { L_CONNECTING, L_HANDSHAKE, L_OPEN, L_CLOSING, L_DEAD };

typedef struct lconn {
    int fd, state, want_out, outstanding;
    buf_t out;
    char hs[2048];
    size_t hs_len;
    char accept[32];
    /* streaming frame parser */
    unsigned char hdr[14];
    unsigned hdr_have, hdr_need;
    int in_payload;
    unsigned op, fin, msg_op;
    uint64_t plen, pgot, msg_off;
    char ts[16];
    uint64_t xs; /* xorshift state for mask keys */
} lconn;

/* options and state */
static struct {
    struct sockaddr_in addr;
    char host[256], path[1024];
    int conns, inflight, binary, json, verify;
    size_t size;
    double duration, warmup, rate, connect_timeout;
    const char *label;
} O = {.conns = 64, .inflight = 4, .size = 1024, .duration = 10, .warmup = 2, .verify = 1, .label = "",
       .connect_timeout = 10};

static lconn *L;
static unsigned char *g_tmpl; /* the payload pattern, size bytes */
static unsigned char g_rbuf[RBUF_SIZE];
static int g_sending = 0;              /* 1 while new messages may be sent */
static uint64_t g_t_meas0, g_t_meas1; /* measured window */
static uint64_t g_sent, g_recv_all, g_recv_meas, g_bytes_meas;
static uint64_t e_connect, e_handshake, e_protocol, e_verify, e_closed, e_backlog;
static int g_open_count, g_settled; /* connections open; connections done connecting (open or failed) */

static void lconn_dead(lconn *c, uint64_t *counter) {
    if (c->state == L_DEAD) return;
    if (c->state == L_OPEN) g_open_count--;
    if (c->state <= L_HANDSHAKE) g_settled++;
    if (counter) (*counter)++;
    c->state = L_DEAD;
    epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

static void lconn_set_out(lconn *c, int want) {
    if (want == c->want_out || c->fd < 0) return;
    c->want_out = want;
    ep_mod(c->fd, (void *)c, want ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void lconn_flush(lconn *c) {
    while (buf_avail(&c->out)) {
        ssize_t n = write(c->fd, c->out.p + c->out.off, buf_avail(&c->out));
        if (n > 0) { buf_consume(&c->out, (size_t)n); continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        lconn_dead(c, g_sending ? &e_closed : NULL);
        return;
    }
    lconn_set_out(c, buf_avail(&c->out) > 0);
}

static inline uint32_t xorshift32(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    *s = x;
    return (uint32_t)(x >> 16);
}

static const char HEX[] = "0123456789abcdef";

/* Queue one masked data frame carrying timestamp `t` (ns). */
static void send_msg(lconn *c, uint64_t t) {
    size_t n = O.size;
    buf_reserve(&c->out, 14 + n);
    unsigned char *o = c->out.p + c->out.len;
    o[0] = (unsigned char)(0x80 | (O.binary ? 2 : 1));
    size_t h;
    if (n < 126) { o[1] = (unsigned char)(0x80 | n); h = 2; }
    else if (n < 65536) { o[1] = 0x80 | 126; o[2] = (unsigned char)(n >> 8); o[3] = (unsigned char)n; h = 4; }
    else { o[1] = 0x80 | 127; for (int i = 0; i < 8; i++) o[2 + i] = (unsigned char)((uint64_t)n >> (56 - 8 * i)); h = 10; }
    uint32_t k = xorshift32(&c->xs);
    unsigned char key[4];
    memcpy(key, &k, 4);
    memcpy(o + h, key, 4);
    h += 4;
    unsigned char tsb[16];
    for (int i = 0; i < 16; i++) tsb[i] = (unsigned char)HEX[(t >> (60 - 4 * i)) & 15];
    mask_copy(o + h, g_tmpl, n, key); /* whole pattern, 8 bytes at a time */
    mask_copy(o + h, tsb, 16, key);   /* then the timestamp over its first 16 bytes */
    c->out.len += h + n;
    c->outstanding++;
    g_sent++;
}

static void send_close(lconn *c) {
    buf_reserve(&c->out, 8);
    unsigned char *o = c->out.p + c->out.len;
    unsigned char key[4] = {1, 2, 3, 4};
    o[0] = 0x88; o[1] = 0x82;
    memcpy(o + 2, key, 4);
    o[6] = 0x03 ^ key[0]; o[7] = 0xe8 ^ key[1]; /* 1000 */
    c->out.len += 8;
}

static inline int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    return -1;
}

/* A complete data message arrived at time `now`. */
static void on_message(lconn *c, uint64_t now) {
    c->outstanding--;
    g_recv_all++;
    if (c->msg_off != O.size || c->msg_op != (O.binary ? 2u : 1u)) { e_protocol++; return; }
    uint64_t t = 0;
    for (int i = 0; i < 16; i++) {
        int v = hexval(c->ts[i]);
        if (v < 0) { e_protocol++; return; }
        t = t << 4 | (uint64_t)v;
    }
    if (now >= g_t_meas0 && now < g_t_meas1) {
        g_recv_meas++;
        g_bytes_meas += O.size;
        h_record(now > t ? now - t : 0);
    }
    /* closed loop: replace the completed message */
    if (O.rate <= 0 && g_sending && c->outstanding < O.inflight) send_msg(c, now);
}

/* Feed received WebSocket bytes through the streaming parser. */
static void lconn_parse(lconn *c, const unsigned char *p, size_t n, uint64_t now) {
    const unsigned char *end = p + n;
    while (p < end && c->state >= L_OPEN && c->state != L_DEAD) {
        if (!c->in_payload) {
            if (c->hdr_have < 2) {
                c->hdr[c->hdr_have++] = *p++;
                if (c->hdr_have == 2) {
                    unsigned l7 = c->hdr[1] & 0x7f;
                    c->hdr_need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((c->hdr[1] & 0x80) ? 4 : 0);
                } else continue;
            } else {
                size_t k = c->hdr_need - c->hdr_have;
                if (k > (size_t)(end - p)) k = (size_t)(end - p);
                memcpy(c->hdr + c->hdr_have, p, k);
                c->hdr_have += (unsigned)k;
                p += k;
            }
            if (c->hdr_have < c->hdr_need) continue;
            unsigned l7 = c->hdr[1] & 0x7f;
            uint64_t plen = l7;
            if (l7 == 126) plen = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
            else if (l7 == 127) { plen = 0; for (int i = 0; i < 8; i++) plen = plen << 8 | c->hdr[2 + i]; }
            if (c->hdr[1] & 0x80) { e_protocol++; lconn_dead(c, NULL); return; } /* server frames are unmasked */
            c->op = c->hdr[0] & 0x0f;
            c->fin = c->hdr[0] >> 7;
            c->plen = plen;
            c->pgot = 0;
            c->hdr_have = 0;
            c->in_payload = 1;
            if (c->op == 1 || c->op == 2) { c->msg_op = c->op; c->msg_off = 0; }
            else if (c->op >= 8 && plen > 125) { e_protocol++; lconn_dead(c, NULL); return; }
        } else {
            size_t k = c->plen - c->pgot;
            if (k > (size_t)(end - p)) k = (size_t)(end - p);
            if (c->op < 8) {
                /* data: timestamp bytes, then compare with the pattern */
                uint64_t off = c->msg_off;
                size_t i = 0;
                while (i < k && off + i < 16) { c->ts[off + i] = (char)p[i]; i++; }
                if (O.verify && i < k) {
                    if (off + k > O.size || memcmp(p + i, g_tmpl + off + i, k - i) != 0) e_verify++;
                }
                c->msg_off += k;
            }
            c->pgot += k;
            p += k;
        }
        if (c->in_payload && c->pgot == c->plen) {
            c->in_payload = 0;
            if (c->op < 8) {
                if (c->fin) on_message(c, now);
            } else if (c->op == 8) {
                lconn_dead(c, c->state == L_CLOSING || !g_sending ? NULL : &e_closed);
                return;
            } else if (c->op == 9) {
                /* answer with an empty pong (payload not kept: pings are not expected here) */
                buf_reserve(&c->out, 6);
                unsigned char *o = c->out.p + c->out.len;
                o[0] = 0x8A; o[1] = 0x80; o[2] = o[3] = o[4] = o[5] = 0;
                c->out.len += 6;
            }
        }
    }
}

static void lconn_handshake_rx(lconn *c, const unsigned char *p, size_t n, uint64_t now) {
    size_t room = sizeof c->hs - 1 - c->hs_len;
    size_t take = n < room ? n : room;
    memcpy(c->hs + c->hs_len, p, take);
    c->hs_len += take;
    c->hs[c->hs_len] = 0;
    char *eoh = memmem(c->hs, c->hs_len, "\r\n\r\n", 4);
    if (!eoh) {
        if (c->hs_len >= sizeof c->hs - 1) lconn_dead(c, &e_handshake);
        return;
    }
    size_t hlen = (size_t)(eoh - c->hs) + 4, alen = 0;
    const char *acc = find_header(c->hs, hlen, "Sec-WebSocket-Accept", &alen);
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0 || !acc || alen != strlen(c->accept) ||
        memcmp(acc, c->accept, alen) != 0) {
        char *eol = strstr(c->hs, "\r\n");
        if (eol) *eol = 0;
        if (e_handshake < 3) fprintf(stderr, "wsbench: handshake refused: %s\n", c->hs);
        lconn_dead(c, &e_handshake);
        return;
    }
    c->state = L_OPEN;
    g_open_count++;
    g_settled++;
    /* bytes after the response head (if any) are already WebSocket frames */
    size_t rest_in_hs = c->hs_len - hlen;
    size_t extra = n - take;
    if (rest_in_hs) lconn_parse(c, (unsigned char *)c->hs + hlen, rest_in_hs, now);
    if (extra) lconn_parse(c, p + take, extra, now);
}

static void lconn_readable(lconn *c) {
    for (;;) {
        ssize_t n = read(c->fd, g_rbuf, sizeof g_rbuf);
        if (n == 0) { lconn_dead(c, (g_sending || c->state == L_HANDSHAKE) ? (c->state == L_HANDSHAKE ? &e_handshake : &e_closed) : NULL); return; }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            lconn_dead(c, g_sending ? &e_closed : NULL);
            return;
        }
        uint64_t now = now_ns();
        if (c->state == L_HANDSHAKE) lconn_handshake_rx(c, g_rbuf, (size_t)n, now);
        else lconn_parse(c, g_rbuf, (size_t)n, now);
        if (c->state == L_DEAD || (size_t)n < sizeof g_rbuf) break;
    }
    if (c->state != L_DEAD) lconn_flush(c); /* one write for all sends this burst caused */
}

static void lconn_start(lconn *c, int idx) {
    c->xs = 0x9E3779B97F4A7C15ull ^ ((uint64_t)idx * 0xD1B54A32D192ED03ull) ^ now_ns();
    if (!c->xs) c->xs = 1;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) { c->state = L_DEAD; e_connect++; g_settled++; return; }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = L_CONNECTING;
    int r = connect(c->fd, (struct sockaddr *)&O.addr, sizeof O.addr);
    if (r < 0 && errno != EINPROGRESS) { close(c->fd); c->fd = -1; c->state = L_DEAD; e_connect++; g_settled++; return; }
    struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.ptr = c};
    c->want_out = 1;
    epoll_ctl(g_ep, EPOLL_CTL_ADD, c->fd, &e);
}

static void lconn_connected(lconn *c) {
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        if (e_connect < 3) fprintf(stderr, "wsbench: connect: %s\n", strerror(err));
        lconn_dead(c, &e_connect);
        return;
    }
    unsigned char rnd[16];
    for (int i = 0; i < 16; i++) rnd[i] = (unsigned char)xorshift32(&c->xs);
    char key[32];
    b64(rnd, 16, key);
    ws_accept(key, strlen(key), c->accept);
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nUser-Agent: wsbench\r\n\r\n",
                     O.path, O.host, key);
    buf_reserve(&c->out, (size_t)n);
    memcpy(c->out.p + c->out.len, req, (size_t)n);
    c->out.len += (size_t)n;
    c->state = L_HANDSHAKE;
    lconn_flush(c);
}

static void usage(void) {
    fprintf(stderr,
            "usage: wsbench echo [--listen HOST:PORT] [--tls-listen HOST:PORT --tls-cert PEM --tls-key PEM]\n"
            "       wsbench load --url ws://HOST:PORT/path [--connections N] [--inflight K] [--size BYTES]\n"
            "                    [--binary] [--duration S] [--warmup S] [--rate MSGS_PER_SEC]\n"
            "                    [--no-verify] [--label NAME] [--json] [--connect-timeout S]\n");
}

static int run_load(int argc, char **argv) {
    const char *url = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--url") && v) url = v, i++;
        else if (!strcmp(a, "--connections") && v) O.conns = atoi(v), i++;
        else if (!strcmp(a, "--inflight") && v) O.inflight = atoi(v), i++;
        else if (!strcmp(a, "--size") && v) O.size = (size_t)strtoull(v, NULL, 10), i++;
        else if (!strcmp(a, "--duration") && v) O.duration = atof(v), i++;
        else if (!strcmp(a, "--warmup") && v) O.warmup = atof(v), i++;
        else if (!strcmp(a, "--rate") && v) O.rate = atof(v), i++;
        else if (!strcmp(a, "--label") && v) O.label = v, i++;
        else if (!strcmp(a, "--connect-timeout") && v) O.connect_timeout = atof(v), i++;
        else if (!strcmp(a, "--binary")) O.binary = 1;
        else if (!strcmp(a, "--text")) O.binary = 0;
        else if (!strcmp(a, "--json")) O.json = 1;
        else if (!strcmp(a, "--no-verify")) O.verify = 0;
        else { fprintf(stderr, "load: unknown or incomplete argument %s\n", a); usage(); return 2; }
    }
    if (!url || strncmp(url, "ws://", 5) != 0) { fprintf(stderr, "load: --url ws://HOST:PORT/path required\n"); return 2; }
    if (O.conns < 1 || O.conns > 100000 || O.inflight < 1 || O.size < 16 || O.size > (1u << 30) ||
        O.duration <= 0 || O.duration > 3600 || O.warmup < 0 || O.warmup > 600 || O.rate < 0 ||
        O.connect_timeout <= 0 || O.connect_timeout > 3600) {
        fprintf(stderr, "load: bad parameters (connections 1-100000, inflight >= 1, size >= 16, duration 0-3600 s, connect-timeout 0-3600 s)\n");
        return 2;
    }
    const char *hp = url + 5, *slash = strchr(hp, '/');
    size_t hl = slash ? (size_t)(slash - hp) : strlen(hp);
    if (hl >= sizeof O.host) return 2;
    memcpy(O.host, hp, hl);
    O.host[hl] = 0;
    snprintf(O.path, sizeof O.path, "%s", slash ? slash : "/");
    if (!strchr(O.host, ':')) strcat(O.host, ":80");
    if (parse_hostport(O.host, &O.addr) < 0) { fprintf(stderr, "load: bad host:port in %s\n", url); return 2; }

    raise_nofile();
    signal(SIGPIPE, SIG_IGN);
    g_tmpl = malloc(O.size);
    for (size_t i = 0; i < O.size; i++) g_tmpl[i] = (unsigned char)('a' + (i * 7) % 26);
    L = calloc((size_t)O.conns, sizeof *L);
    g_ep = epoll_create1(0);

    uint64_t t_start = now_ns();
    /* every connection open and upgraded by then (--connect-timeout: a proxy under valgrind needs minutes) */
    const uint64_t connect_deadline = t_start + (uint64_t)(O.connect_timeout * 1e9);
    for (int i = 0; i < O.conns; i++) lconn_start(&L[i], i);

    int tfd = -1;
    uint64_t t_run0 = 0, t_stop = 0, t_exit = 0, rate_sent = 0;
    int phase = 0; /* 0 connecting, 1 running, 2 draining */
    struct epoll_event evs[512];
    for (;;) {
        int timeout = 50;
        int n = epoll_wait(g_ep, evs, 512, timeout);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            lconn *c = evs[i].data.ptr;
            if (!c) { /* rate timer */
                uint64_t exp;
                if (read(tfd, &exp, sizeof exp) < 0) {}
                continue;
            }
            if (c->state == L_DEAD) continue;
            uint32_t ev = evs[i].events;
            if (c->state == L_CONNECTING) {
                if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) lconn_connected(c);
                continue;
            }
            if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) lconn_readable(c);
            if (c->state != L_DEAD && (ev & EPOLLOUT)) lconn_flush(c);
        }
        uint64_t now = now_ns();
        if (phase == 0) {
            if (g_settled >= O.conns || now > connect_deadline) {
                for (int i = 0; i < O.conns; i++)
                    if (L[i].state == L_CONNECTING || L[i].state == L_HANDSHAKE) lconn_dead(&L[i], &e_connect);
                if (g_open_count == 0) {
                    fprintf(stderr, "wsbench: no connection could be opened to %s\n", url);
                    break;
                }
                phase = 1;
                g_sending = 1;
                t_run0 = now;
                g_t_meas0 = now + (uint64_t)(O.warmup * 1e9);
                g_t_meas1 = g_t_meas0 + (uint64_t)(O.duration * 1e9);
                t_stop = g_t_meas1;
                if (O.rate > 0) {
                    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
                    uint64_t iv = (uint64_t)(1e9 / O.rate);
                    if (iv < 50000) iv = 50000; /* at most 20k ticks/s; several messages per tick above that */
                    if (iv > 10000000) iv = 10000000;
                    struct itimerspec its = {{(time_t)(iv / 1000000000), (long)(iv % 1000000000)}, {0, 1000}};
                    timerfd_settime(tfd, 0, &its, NULL);
                    struct epoll_event te = {.events = EPOLLIN, .data.ptr = NULL};
                    epoll_ctl(g_ep, EPOLL_CTL_ADD, tfd, &te);
                } else {
                    for (int i = 0; i < O.conns; i++) {
                        if (L[i].state != L_OPEN) continue;
                        for (int k = 0; k < O.inflight; k++) send_msg(&L[i], now);
                        lconn_flush(&L[i]);
                    }
                }
            }
        }
        if (phase == 1 && O.rate > 0) {
            /* open loop: all messages due by now, round-robin over open connections */
            uint64_t due = (uint64_t)((double)(now - t_run0) * O.rate / 1e9);
            if (due > rate_sent) {
                static int rr = 0;
                for (; rate_sent < due; rate_sent++) {
                    for (int tries = 0; tries < O.conns; tries++) {
                        lconn *c = &L[rr];
                        rr = (rr + 1) % O.conns;
                        if (c->state != L_OPEN) continue;
                        if (buf_avail(&c->out) > (8u << 20)) { e_backlog++; break; }
                        send_msg(c, now);
                        break;
                    }
                }
                for (int i = 0; i < O.conns; i++)
                    if (L[i].state == L_OPEN && buf_avail(&L[i].out) && !L[i].want_out) lconn_flush(&L[i]);
            }
        }
        if (phase == 1 && now >= t_stop) {
            phase = 2;
            g_sending = 0;
            t_exit = now + 1000000000ull; /* wait up to 1 s for close replies */
            for (int i = 0; i < O.conns; i++) {
                if (L[i].state != L_OPEN) continue;
                L[i].state = L_CLOSING;
                g_open_count--;
                send_close(&L[i]);
                lconn_flush(&L[i]);
            }
        }
        if (phase == 2) {
            int alive = 0;
            for (int i = 0; i < O.conns; i++) alive += L[i].state != L_DEAD;
            if (!alive || now >= t_exit) break;
        }
    }
    for (int i = 0; i < O.conns; i++)
        if (L[i].state != L_DEAD) lconn_dead(&L[i], NULL);
    if (tfd >= 0) close(tfd);

    double secs = O.duration;
    double mps = g_recv_meas / secs;
    double mbps = (double)g_bytes_meas / secs / 1e6;
    uint64_t errors = e_connect + e_handshake + e_protocol + e_verify + e_closed + e_backlog;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_s = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    double wall_s = (double)(now_ns() - t_start) / 1e9;
    double mean = g_hist_n ? (double)g_rtt_sum / (double)g_hist_n / 1000.0 : 0;
    if (O.json) {
        printf("{\"label\":\"%s\",\"url\":\"%s\",\"mode\":\"%s\",\"connections\":%d,\"inflight\":%d,"
               "\"size\":%zu,\"binary\":%s,\"rate\":%.0f,\"duration_s\":%.3f,\"warmup_s\":%.3f,"
               "\"connections_open\":%d,\"sent\":%llu,\"received\":%llu,\"msgs\":%llu,"
               "\"msgs_per_s\":%.1f,\"mb_per_s\":%.2f,"
               "\"rtt_us\":{\"mean\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f},"
               "\"errors\":%llu,\"error_detail\":{\"connect\":%llu,\"handshake\":%llu,\"protocol\":%llu,"
               "\"verify\":%llu,\"closed\":%llu,\"backlog\":%llu},"
               "\"loadgen_cpu_s\":%.3f,\"wall_s\":%.3f}\n",
               O.label, url, O.rate > 0 ? "open" : "closed", O.conns, O.inflight, O.size,
               O.binary ? "true" : "false", O.rate, secs, O.warmup, O.conns - (int)(e_connect + e_handshake),
               (unsigned long long)g_sent, (unsigned long long)g_recv_all, (unsigned long long)g_recv_meas, mps,
               mbps, mean, h_pct(0.50), h_pct(0.90), h_pct(0.99), h_pct(0.999), g_rtt_max / 1000.0,
               (unsigned long long)errors, (unsigned long long)e_connect, (unsigned long long)e_handshake,
               (unsigned long long)e_protocol, (unsigned long long)e_verify, (unsigned long long)e_closed,
               (unsigned long long)e_backlog, cpu_s, wall_s);
    } else {
        printf("%s%s%s: %s loop, %d connections, %s messages of %zu B\n", O.label, *O.label ? ": " : "", url,
               O.rate > 0 ? "open" : "closed", O.conns, O.binary ? "binary" : "text", O.size);
        if (O.rate > 0) printf("  target rate     %.0f msgs/s\n", O.rate);
        else printf("  in flight       %d per connection\n", O.inflight);
        printf("  measured        %.1f s (after %.1f s warm-up), %llu echoes\n", secs, O.warmup,
               (unsigned long long)g_recv_meas);
        printf("  throughput      %.0f msgs/s, %.2f MB/s (payload, one direction)\n", mps, mbps);
        printf("  RTT µs          mean %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", mean,
               h_pct(0.50), h_pct(0.90), h_pct(0.99), h_pct(0.999), g_rtt_max / 1000.0);
        printf("  errors          %llu (connect %llu, handshake %llu, protocol %llu, verify %llu, closed %llu, backlog %llu)\n",
               (unsigned long long)errors, (unsigned long long)e_connect, (unsigned long long)e_handshake,
               (unsigned long long)e_protocol, (unsigned long long)e_verify, (unsigned long long)e_closed,
               (unsigned long long)e_backlog);
        printf("  load generator  %.2f s CPU over %.2f s wall\n", cpu_s, wall_s);
    }
    fflush(stdout);
    return g_recv_meas > 0 ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(); return 2; }
    if (!strcmp(argv[1], "echo")) return run_echo(argc, argv);
    if (!strcmp(argv[1], "load")) return run_load(argc, argv);
    usage();
    return 2;
}
