// libev's watcher initialisers are function-like macros, which Swift cannot import.
// One static inline wrapper per macro, no logic. Constants are re-exported as plain
// ints so Swift sees one type for them.
#ifndef LIFELINE_CLIBEV_SHIM_H
#define LIFELINE_CLIBEV_SHIM_H

#include <ev.h>
#include <sys/socket.h>

typedef void (*lifeline_ev_io_cb)(struct ev_loop *, ev_io *, int);
typedef void (*lifeline_ev_timer_cb)(struct ev_loop *, ev_timer *, int);
typedef void (*lifeline_ev_async_cb)(struct ev_loop *, ev_async *, int);
typedef void (*lifeline_ev_signal_cb)(struct ev_loop *, ev_signal *, int);
typedef void (*lifeline_ev_prepare_cb)(struct ev_loop *, ev_prepare *, int);

static inline void lifeline_ev_io_init(ev_io *w, lifeline_ev_io_cb cb, int fd, int events) { ev_io_init(w, cb, fd, events); }
static inline void lifeline_ev_io_set(ev_io *w, int fd, int events) { ev_io_set(w, fd, events); }
static inline void lifeline_ev_timer_init(ev_timer *w, lifeline_ev_timer_cb cb, double after, double repeat) { ev_timer_init(w, cb, after, repeat); }
static inline void lifeline_ev_timer_set(ev_timer *w, double after, double repeat) { ev_timer_set(w, after, repeat); }
static inline void lifeline_ev_async_init(ev_async *w, lifeline_ev_async_cb cb) { ev_async_init(w, cb); }
static inline void lifeline_ev_signal_init(ev_signal *w, lifeline_ev_signal_cb cb, int signum) { ev_signal_init(w, cb, signum); }
static inline void lifeline_ev_prepare_init(ev_prepare *w, lifeline_ev_prepare_cb cb) { ev_prepare_init(w, cb); }
static inline int lifeline_ev_is_active(const void *w) { return ev_is_active((const ev_watcher *)w); }

// accept4 is a GNU extension that Swift's Glibc module (built without _GNU_SOURCE)
// does not declare; defining _GNU_SOURCE here would change fd_set and clash with it.
#ifndef __USE_GNU
extern int accept4(int fd, struct sockaddr *restrict address, socklen_t *restrict length, int flags);
#endif
static inline int lifeline_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags) { return accept4(fd, address, length, flags); }

static const int LIFELINE_EV_READ = EV_READ;
static const int LIFELINE_EV_WRITE = EV_WRITE;
static const int LIFELINE_EV_TIMER = EV_TIMER;
static const int LIFELINE_EV_ERROR = (int)EV_ERROR;
static const unsigned int LIFELINE_EVFLAG_AUTO = EVFLAG_AUTO;
static const unsigned int LIFELINE_EVBACKEND_EPOLL = EVBACKEND_EPOLL;
static const int LIFELINE_EVBREAK_ALL = EVBREAK_ALL;
static const int LIFELINE_EVRUN_NOWAIT = EVRUN_NOWAIT;

#endif
