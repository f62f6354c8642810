// Bench only (issue 10, lever 1): the smallest N-API addon that owns
// non-blocking TCP connections on the calling thread's libuv loop, to measure
// what upstream I/O costs when no node:net / StreamBase code is in the way.
// One uv_poll per connection (epoll), one write(2) per write() call, one
// read(2) per readable event into a buffer JS handed over once.
//
// How a read reaches JS, per `mode` given to init():
//   0 CALL   napi_call_function in a handle scope: no async context and no
//            drain after it; nextTick and promise jobs the callback queued run
//            later in the turn, when node's check handle (CheckImmediate ->
//            RunAndClearNativeImmediates, Node 20) closes its own callback
//            scope: after every other read of that epoll wake-up, not after
//            this one, and only because of that node internal.
//   1 MAKE   napi_make_callback with one async context: what node does for
//            its own handles (InternalCallbackScope: async hooks, then the
//            nextTick queue and microtasks when the callback returns).
//   2 BATCH  reads of one loop iteration are gathered (each into its own
//            slice of the buffer) and JS hears once, from a uv_check handle,
//            through napi_make_callback: one crossing per turn, not per read.
//
// Not production code: a write that the kernel does not take whole is
// reported to JS (the bench's writes are small), nothing is queued.
#define NAPI_VERSION 8
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <node_api.h>
#include <uv.h>

#define MAX_CONNS 4096
#define MAX_BATCH 1024

enum { MODE_CALL = 0, MODE_MAKE = 1, MODE_BATCH = 2 };

typedef struct conn_s {
  uv_poll_t poll;
  int fd;
  int id;
  int connecting;
  struct state_s* state;
} conn_t;

typedef struct state_s {
  napi_env env;
  uv_loop_t* loop;
  int mode;
  napi_ref on_read;
  napi_ref resource;
  napi_async_context async;
  uint8_t* buf;
  size_t buf_len;
  /* MODE_BATCH: [id, offset, nread] triples, `pending` of them. */
  int32_t* meta;
  size_t meta_len;
  int pending;
  size_t used;
  uv_check_t check;
  int check_started;
  conn_t* conns[MAX_CONNS];
  char wbuf[65536];
} state_t;

static state_t* state_of(napi_env env) {
  state_t* s = NULL;
  napi_get_instance_data(env, (void**)&s);
  return s;
}

static void throw_status(napi_env env, const char* what) {
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, info && info->error_message ? info->error_message : what);
}

#define CHECK(env, call, what)      \
  do {                              \
    if ((call) != napi_ok) {        \
      throw_status((env), (what));  \
      return NULL;                  \
    }                               \
  } while (0)

/* An exception thrown by the JS callback goes to process 'uncaughtException', as node's own callbacks do. */
static void rethrow_pending(napi_env env) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) return;
  napi_value err;
  napi_get_and_clear_last_exception(env, &err);
  napi_fatal_exception(env, err);
}

static void call_js(state_t* s, int argc, const int32_t* args) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value fn, recv, argv[3], result;
  napi_get_reference_value(env, s->on_read, &fn);
  for (int i = 0; i < argc; i++) napi_create_int32(env, args[i], &argv[i]);
  if (s->mode == MODE_CALL) {
    napi_get_undefined(env, &recv);
    napi_call_function(env, recv, fn, (size_t)argc, argv, &result);
  } else {
    napi_get_reference_value(env, s->resource, &recv);
    napi_make_callback(env, s->async, recv, fn, (size_t)argc, argv, &result);
  }
  rethrow_pending(env);
  napi_close_handle_scope(env, scope);
}

static void flush_batch(state_t* s) {
  if (s->pending == 0) return;
  /* kind 2, batch: `pending` [id, offset, nread] triples in meta. */
  int32_t args[3] = {s->pending, 2, 0};
  s->pending = 0;
  s->used = 0;
  call_js(s, 3, args);
}

static void on_check(uv_check_t* check) {
  flush_batch((state_t*)check->data);
}

static void on_close(uv_handle_t* h) {
  free(h->data);
}

static void close_conn(state_t* s, conn_t* c) {
  if (c->fd < 0) return;
  uv_poll_stop(&c->poll);
  close(c->fd);
  c->fd = -1;
  s->conns[c->id] = NULL;
  c->poll.data = c;
  uv_close((uv_handle_t*)&c->poll, on_close);
}

static void on_poll(uv_poll_t* p, int status, int events) {
  conn_t* c = (conn_t*)p->data;
  state_t* s = c->state;
  int32_t args[3] = {c->id, 0, 0};
  if (c->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (status < 0) err = -status;
    else getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    c->connecting = 0;
    if (err == 0) uv_poll_start(&c->poll, UV_READABLE, on_poll);
    /* kind 0, connect: 0 when connected, else -errno. */
    args[2] = -err;
    call_js(s, 3, args);
    return;
  }
  if (status < 0 || !(events & UV_READABLE)) return;
  if (s->mode == MODE_BATCH) {
    size_t room = s->buf_len - s->used;
    if (room < 16384 || s->pending == MAX_BATCH) {
      flush_batch(s);
      room = s->buf_len;
    }
    ssize_t n = read(c->fd, s->buf + s->used, room);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    int32_t* m = s->meta + 3 * s->pending;
    m[0] = c->id;
    m[1] = (int32_t)s->used;
    m[2] = n < 0 ? -errno : (int32_t)n;
    s->pending++;
    if (n > 0) s->used += (size_t)n;
    else uv_poll_stop(&c->poll);
    return;
  }
  ssize_t n = read(c->fd, s->buf, s->buf_len);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) uv_poll_stop(&c->poll);
  /* kind 1, read: nread > 0 bytes in the buffer from 0; 0 end of stream; negative -errno. */
  args[1] = 1;
  args[2] = n < 0 ? -errno : (int32_t)n;
  call_js(s, 3, args);
}

/* init(buffer, onRead, mode, meta?: Int32Array) */
static napi_value js_init(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "arguments");
  state_t* s = state_of(env);
  if (s->on_read != NULL) {
    napi_throw_error(env, NULL, "init() was called already");
    return NULL;
  }
  void* data;
  CHECK(env, napi_get_buffer_info(env, argv[0], &data, &s->buf_len), "buffer expected");
  s->buf = (uint8_t*)data;
  CHECK(env, napi_create_reference(env, argv[0], 1, &s->resource), "reference");
  CHECK(env, napi_create_reference(env, argv[1], 1, &s->on_read), "function expected");
  CHECK(env, napi_get_value_int32(env, argv[2], &s->mode), "mode expected");
  CHECK(env, napi_get_uv_event_loop(env, &s->loop), "loop");
  napi_value name;
  napi_create_string_utf8(env, "UPSTREAM_IO_BENCH", NAPI_AUTO_LENGTH, &name);
  CHECK(env, napi_async_init(env, argv[0], name, &s->async), "async context");
  if (s->mode == MODE_BATCH) {
    napi_typedarray_type type;
    size_t length, offset;
    napi_value ab;
    void* m;
    CHECK(env, napi_get_typedarray_info(env, argv[3], &type, &length, &m, &ab, &offset), "Int32Array expected");
    if (type != napi_int32_array || length < 3 * MAX_BATCH) {
      napi_throw_error(env, NULL, "meta must be an Int32Array of 3 * 1024");
      return NULL;
    }
    s->meta = (int32_t*)m;
    uv_check_init(s->loop, &s->check);
    s->check.data = s;
    uv_check_start(&s->check, on_check);
    /* The check handle alone must not keep the loop alive. */
    uv_unref((uv_handle_t*)&s->check);
    s->check_started = 1;
  }
  return NULL;
}

/* connect(port) -> id; then onRead(id, 0, 0) when connected, onRead(id, 0, -errno) when not. */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t port;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL), "arguments");
  CHECK(env, napi_get_value_int32(env, argv[0], &port), "port expected");
  state_t* s = state_of(env);
  int id = -1;
  for (int i = 0; i < MAX_CONNS; i++) {
    if (s->conns[i] == NULL) {
      id = i;
      break;
    }
  }
  if (id < 0) {
    napi_throw_error(env, NULL, "too many connections");
    return NULL;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    napi_throw_error(env, NULL, strerror(errno));
    return NULL;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    napi_throw_error(env, NULL, strerror(err));
    return NULL;
  }
  conn_t* c = (conn_t*)calloc(1, sizeof *c);
  c->fd = fd;
  c->id = id;
  c->connecting = 1;
  c->state = s;
  uv_poll_init(s->loop, &c->poll, fd);
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_WRITABLE, on_poll);
  s->conns[id] = c;
  napi_value out;
  napi_create_int32(env, id, &out);
  return out;
}

/* Reads a call's arguments, the first being a connection id: its state and connection (NULL if none). 0 after throwing. */
static int conn_args(napi_env env, napi_callback_info info, napi_value* argv, size_t count, state_t** s, conn_t** c) {
  size_t argc = count;
  int32_t id;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_status(env, "arguments");
    return 0;
  }
  if (napi_get_value_int32(env, argv[0], &id) != napi_ok) {
    throw_status(env, "id expected");
    return 0;
  }
  *s = state_of(env);
  *c = (id >= 0 && id < MAX_CONNS) ? (*s)->conns[id] : NULL;
  return 1;
}

/* write(id, latin1 string | Buffer) -> bytes written, or -errno. */
static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  state_t* s;
  conn_t* c;
  if (!conn_args(env, info, argv, 2, &s, &c)) return NULL;
  if (c == NULL) {
    napi_throw_error(env, NULL, "no such connection");
    return NULL;
  }
  napi_valuetype type;
  napi_typeof(env, argv[1], &type);
  const char* bytes;
  size_t len;
  if (type == napi_string) {
    CHECK(env, napi_get_value_string_latin1(env, argv[1], s->wbuf, sizeof s->wbuf, &len), "latin1");
    bytes = s->wbuf;
  } else {
    void* data;
    CHECK(env, napi_get_buffer_info(env, argv[1], &data, &len), "string or Buffer expected");
    bytes = (const char*)data;
  }
  ssize_t n = write(c->fd, bytes, len);
  napi_value out;
  napi_create_int32(env, n < 0 ? -errno : (int32_t)n, &out);
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  state_t* s;
  conn_t* c;
  if (!conn_args(env, info, argv, 1, &s, &c)) return NULL;
  if (c != NULL) close_conn(s, c);
  return NULL;
}

static void on_check_closed(uv_handle_t* h) {
  free(h->data);
}

static void free_state(napi_env env, void* data, void* hint) {
  (void)hint;
  state_t* s = (state_t*)data;
  for (int i = 0; i < MAX_CONNS; i++) {
    if (s->conns[i] != NULL) close_conn(s, s->conns[i]);
  }
  if (s->async != NULL) napi_async_destroy(env, s->async);
  if (s->check_started) {
    uv_check_stop(&s->check);
    uv_close((uv_handle_t*)&s->check, on_check_closed);
  } else {
    free(s);
  }
}

static napi_value init_module(napi_env env, napi_value exports) {
  state_t* s = (state_t*)calloc(1, sizeof *s);
  s->env = env;
  napi_set_instance_data(env, s, free_state, NULL);
  napi_property_descriptor props[] = {
      {"init", NULL, js_init, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init_module)
