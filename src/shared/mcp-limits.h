/* SPDX-License-Identifier: MIT */
/*
 * Every limit and default in one place. Where an environment variable can
 * override a value its name is given; all are documented in the man pages.
 */
#pragma once

/* ---- front (mcp-proxy) ---- */
#define HTTP_MAX_HEADER_BYTES_DEFAULT (16 * 1024)       /* MCP_HTTP_MAX_HEADER_BYTES; 431 */
#define HTTP_MAX_BODY_BYTES_DEFAULT   (4 * 1024 * 1024) /* MCP_HTTP_MAX_BODY_BYTES; 413 */
#define HTTP_MAX_HEADERS              100               /* header lines per request; 431 */
#define HTTP_IDLE_TIMEOUT_MS_DEFAULT  (60 * 1000) /* MCP_HTTP_IDLE_TIMEOUT (s): keep-alive idle */
#define HTTP_READ_TIMEOUT_MS_DEFAULT  (30 * 1000) /* MCP_HTTP_READ_TIMEOUT (s): one request; 408 */
#define HTTP_FIRST_REQUEST_TIMEOUT_MS_DEFAULT \
        (5 * 1000) /* MCP_HTTP_FIRST_REQUEST_TIMEOUT (s): a new connection's first request head */
#define HTTP_WRITE_TIMEOUT_MS      (30 * 1000) /* a client that reads nothing */
#define HTTP_SSE_KEEPALIVE_MS      (15 * 1000) /* comment line on idle SSE streams */
#define HTTP_MAX_REQUESTS_PER_CONN 100000
#define FRONT_DEFAULT_HOST         "0.0.0.0"
#define FRONT_DEFAULT_PORT         8080
#define FRONT_LISTEN_BACKLOG       512
#define FRONT_MAX_CHILDREN         1024 /* listen mode: connections served at a time */
#define FRONT_LISTEN_MAX_IDLE_DEFAULT \
        4096 /* MCP_LISTEN_MAX_IDLE: listen mode, connections held before their first byte */
#define FRONT_LISTEN_FDS_SPARE 32    /* descriptors the listener keeps besides those */
#define FRONT_ACCEPT_BATCH     64    /* accept() calls before looking at the other events */
#define FRONT_ACCEPT_PAUSE_MS  100   /* after accept() said ENOBUFS or ENOMEM */
#define FRONT_LISTEN_REPORT_MS 10000 /* at most one notice this often for closed idle ones */

/* ---- keys ---- */
#define KEYS_MAX          4096
#define KEY_MAX_LEN       512
#define CLIENT_ID_MAX_LEN 128
#define KEYS_FILE_MAX     (4 * 1024 * 1024)

/* ---- config ---- */
#define CONFIG_FILE_MAX            (4 * 1024 * 1024)
#define CONFIG_MAX_SERVERS         256
#define CONFIG_SERVER_NAME_MAX     64
#define STARTUP_TIMEOUT_MS_DEFAULT (60 * 1000)      /* per server "startupTimeout" (s) */
#define REQUEST_TIMEOUT_MS_DEFAULT (60 * 1000)      /* per server "timeout" (s) */
#define REQUEST_MAX_TIMEOUT_MS     (10 * 60 * 1000) /* per server "maxTimeout" (s) */
#define CONNECT_TIMEOUT_MS_DEFAULT (10 * 1000)      /* per server "connectTimeout" (s) */
#define INSTANCE_IDLE_MS_DEFAULT   (300 * 1000)     /* per server "idleTimeout" (s) */
#define INSTANCE_MAX_DEFAULT       16               /* per server "maxInstances" */
#define INSTANCE_MAX_LIMIT         4096             /* the most "maxInstances" may say */
#define CONCURRENCY_MAX_LIMIT      1024             /* the most "maxConcurrency" may say */
#define CONFIG_MAX_ROOTS           256              /* entries of a server's "roots" */

/* ---- users file (MCP_USERS_PATH) ---- */
#define USERS_FILE_MAX     (4 * 1024 * 1024)
#define USERS_MAX_CLIENTS  KEYS_MAX /* entries besides "*" */
#define USERS_GLOBS_MAX    1024     /* globs in one list */
#define USERS_GLOB_MAX_LEN 512      /* bytes of one glob, and of a "name" */
#define USERS_LIMIT_MAX    1000000  /* requests_per_minute, ..., max_buffer_mib */

/* ---- hub ---- */
#define HUB_SOCKET_DEFAULT          "/run/mcp-proxy/hub.sock"
#define HUB_SOCKET_NAME             "hub.sock"         /* under $RUNTIME_DIRECTORY */
#define HUB_MAX_LINE                (16 * 1024 * 1024) /* one wire line, hub side */
#define HUB_MAX_CONNECTIONS         4096
#define HUB_READ_CHUNK              16384 /* bytes read from a front at a time */
#define HUB_MAX_SESSIONS            4096
#define HUB_MAX_SESSIONS_PER_CLIENT 1024 /* a client at it ends its own oldest unused one */
#define HUB_CONN_OUT_MAX            (64 * 1024 * 1024)   /* queued bytes to one front */
#define HUB_SESSION_IDLE_MS         (24LL * 3600 * 1000) /* MCP_SESSION_IDLE_TIMEOUT (s) */
#define SESSION_SWEEP_MS            (60 * 1000)          /* how often idle sessions are swept */
#define UPSTREAM_MAX_LINE           (16 * 1024 * 1024)   /* one stdio message from an upstream */
#define UPSTREAM_PEEK_BYTES         4096 /* of a dropped one: read for its id (a failed answer) */
#define UPSTREAM_STDIN_MAX          (64 * 1024 * 1024) /* queued bytes to one child */
#define UPSTREAM_STDERR_LINE        4096
#define UPSTREAM_QUEUE_MAX          1024 /* requests waiting their turn on one upstream */
#define TURN_LINGER_MS              1000 /* a cancelled/timed-out request keeps its turn */
#define UPSTREAM_LIST_MAX_PAGES     1000
#define RESTART_DELAY_MS_DEFAULT    1000 /* MCP_RESTART_DELAY (s) */
#define RESTART_DELAY_MS_MAX        30000
#define RESTART_DELAY_MS_MIN        100
#define RESTART_HEALTHY_MS          60000 /* uptime that resets the backoff */
#define RESTART_MAX_STREAK_DEFAULT  10    /* MCP_MAX_RETRIES */
#define CHILD_STOP_GRACE_MS         2000  /* close stdin .. SIGTERM .. SIGKILL */
#define HUB_SHUTDOWN_MAX_MS         10000
/* Sessions after a restart: ended ones remembered (beyond, the oldest are forgotten and
 * nothing as old comes back), and how old an id may be to come back from its seal alone. */
#define HUB_ENDED_MAX               65536
#define HUB_SESSION_RESUME_MAX_DAYS 30
/* At start, new exchanges wait at most this long for every server to start once. */
#define HUB_STARTUP_WAIT_MS     15000
#define LIVE_RELOAD_DEBOUNCE_MS 1000 /* MCP_LIVE_RELOAD: quiet time before reloading */

/* ---- SSE streams (hub) ---- */
#define SSE_REPLAY_EVENTS    256               /* events kept per stream for Last-Event-ID */
#define SSE_STREAM_BYTES_MAX (4 * 1024 * 1024) /* bytes kept per stream */
#define SSE_STREAMS_MAX      16                /* streams kept per session */
/* Bytes the streams of one client's sessions may hold in all ("max_buffer_mib" in the users
 * file); beyond, their oldest events are dropped, finished streams' first. */
#define HUB_CLIENT_BUFFER_DEFAULT (32 * 1024 * 1024)
#define SSE_SESSION_BYTES_MAX     (16 * 1024 * 1024) /* bytes the streams of one session keep */
#define SSE_REPLAY_MAX_AGE_MS     (10 * 60 * 1000)   /* an event kept for replay at most so long */
#define SSE_FINISHED_LINGER_MS    (30 * 1000) /* a delivered, finished stream kept for a resume */
/* The hub's memory budget (MCP_MEMORY_MAX_MIB): what its buffers may hold in all. At 90% new
 * sessions get 503 with Retry-After; at 100% kept events are dropped, oldest first. */
#define HUB_MEMORY_MAX_MIB_DEFAULT 128
#define HUB_MEMORY_REFUSE_PERCENT  90
#define HUB_MEMORY_RETRY_AFTER_S   5
#define HUB_MEMORY_TICK_MS         1000 /* queues counted, slow fronts and old events swept */
/* Backpressure: a front connection with more than HIGH bytes queued is congested: its stream's
 * events wait in the ring and the instances that serve only its session stop being read,
 * until it is below LOW again; congested for MCP_SLOW_CLIENT_TIMEOUT (s), it is closed. */
#define HUB_CONN_OUT_HIGH          (1024 * 1024)
#define HUB_CONN_OUT_LOW           (256 * 1024)
#define HUB_SLOW_CLIENT_MS_DEFAULT (60 * 1000)
#define BUF_SHRINK_ABOVE           (64 * 1024)  /* an emptied buffer larger than this is freed */
#define HUB_MMAP_THRESHOLD         (128 * 1024) /* allocations from mmap(2), fixed (mallopt) */
#define HUB_MEMORY_TRIM_BYTES      (4 * 1024 * 1024) /* malloc_trim() once this much went */
#define HUB_BUFFER_NOTE_MS         (10 * 1000) /* a client's drops logged and audited at most so often */
#define HUB_LIST_PAGE_SIZE         100         /* entries per page of an aggregated list */
#define MRTR_COLLECT_MS            30 /* input_required: what a server asks at once, one round */
/* ... and how long it waits for the retry (MCP_INPUT_TIMEOUT): below the 60 s a TypeScript
 * SDK server waits for its own request, so that it hears "cancel" rather than time out */
#define MRTR_TTL_MS            50000
#define MRTR_MAX_PER_CLIENT    64 /* a client's calls waiting for input: the oldest gives way */
#define MRTR_MAX_INPUTS        64 /* what one call may ask of its client at once */
#define MRTR_MAX_ROUNDS        16 /* input_required answers of a 2026-07-28 upstream to one call */
#define MODERN_LIST_TTL_MS     60000 /* 2026-07-28 ttlMs of discover and the lists (reads: 0) */
#define SRV_REQUEST_MAX_AGE_MS (15 * 60 * 1000) /* server->client requests forgotten after */
#define LISTEN_MAX_PER_CLIENT  16  /* 2026-07-28 subscriptions/listen streams open at once */
#define LISTEN_MAX_URIS        256 /* resourceSubscriptions of one listen request */
#define LISTEN_COALESCE_MS     100 /* list changes of one kind told at most so often */

/* ---- remote upstreams: Streamable HTTP and legacy SSE (hub) ---- */
#define REMOTE_MAX_MESSAGE         UPSTREAM_MAX_LINE /* one JSON body or SSE event from a server */
#define REMOTE_MAX_ERROR_BODY      (64 * 1024)       /* kept of an error answer, for its message */
#define REMOTE_MAX_IN_FLIGHT       1024              /* transfers per upstream; then -ENOBUFS */
#define REMOTE_MAX_QUEUED          1024  /* held while re-initializing or before the endpoint */
#define REMOTE_DELETE_TIMEOUT_MS   2000  /* DELETE of the session on stop */
#define REMOTE_STREAM_RETRY_MS     100   /* GET stream reconnect after a drop (unless "retry:") */
#define REMOTE_STREAM_RETRY_MAX_MS 30000 /* ... doubling while it keeps failing */
#define REMOTE_KEEPALIVE_IDLE_S    30    /* TCP keepalive on streams: idle before probes */
#define REMOTE_KEEPALIVE_INTVL_S   10    /* ... between probes */

/* ---- audit and metrics (hub) ---- */
#define AUDIT_VALUE_MAX         256   /* bytes of a value on an audit record's stderr line */
#define AUDIT_JOURNAL_VALUE_MAX 4096  /* ... and in its journal entry (a URI may be long) */
#define METRICS_SERIES_MAX      10000 /* series of counted records; beyond, "other" */
#define METRICS_LABEL_VALUE_MAX 128   /* bytes of a label value, cut at a character */
#define METRICS_TEXT_MAX        (7 * 1024 * 1024) /* one GET /metrics answer (a wire line as JSON) */
