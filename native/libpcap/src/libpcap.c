// xdplab's libpcap binding (N-API, C): what src/live/ needs and no more.
//
//   open(device, filter, ringBytes, snaplen) -> handle   capture and inject on an Ethernet device
//   read(handle, buffer) -> frames                        what the ring holds, as many as fit
//   stats(handle) -> { received, dropped, ifdropped }     pcap_stats since open
//   inject(handle, buffer)                                pcap_inject
//   close(handle)
//
// Inbound frames only, decided in the kernel: the filter "inbound and (FILTER)" is compiled by
// libpcap (on Linux `inbound` is a test of the packet type, SKF_AD_PKTTYPE) and attached to the
// socket with SO_ATTACH_FILTER, so a frame xdplab injects (PACKET_OUTGOING) never takes a slot
// in the ring nor counts in pcap_stats; pcap_setdirection(PCAP_D_IN) is set as well. The
// filter is attached directly rather than by pcap_setfilter because libpcap 1.10's
// pcap_setfilter filters the first frame (TPACKET_V2) or block (TPACKET_V3) after it in user
// space, where it cannot read SKF_AD_PKTTYPE, and so rejects frames that did match.
// Frames the ring held before the filter are drained, and stats count from there.
//
// The ring is TPACKET_V3's (a read timeout of 1 ms, not immediate mode): frames packed into
// blocks, a block handed over when full or 1 ms after its first frame. Immediate mode would
// give TPACKET_V2's fixed slots, each as large as the snapshot length on a device with
// offloads (a veth), so a 256 MiB ring held a few thousand frames and a burst overflowed it.
//
// read() writes records [u32 tv_sec][u32 tv_usec][u32 caplen][u32 len][caplen bytes, padded
// to 4] (host byte order) while one more of snaplen bytes fits, and returns how many.
#define NAPI_VERSION 8
#include <node_api.h>
#include <pcap/pcap.h>
#include <linux/filter.h>
#include <sys/socket.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  pcap_t *p;
  struct pcap_stat base;
} Live;

#define CALL(call)                                                         \
  do {                                                                     \
    if ((call) != napi_ok) {                                               \
      napi_throw_error(env, NULL, "xdplab-libpcap: N-API call failed");   \
      return NULL;                                                         \
    }                                                                      \
  } while (0)

static napi_value fail(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

static napi_value fail_closing(napi_env env, pcap_t *p, const char *code, const char *what) {
  char message[PCAP_ERRBUF_SIZE + 64];
  snprintf(message, sizeof message, "%s%s", what, pcap_geterr(p));
  pcap_close(p);
  return fail(env, code, message);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Live *live = data;
  if (live->p) pcap_close(live->p);
  free(live);
}

static Live *unwrap(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a live handle");
    return NULL;
  }
  Live *live = data;
  if (live->p == NULL) {
    napi_throw_error(env, NULL, "the live handle is closed");
    return NULL;
  }
  return live;
}

static napi_value args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  CALL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != want) return fail(env, NULL, "xdplab-libpcap: wrong number of arguments");
  return argv[0];
}

static const char *activate_code(int rc) {
  if (rc == PCAP_ERROR_NO_SUCH_DEVICE) return "ENODEV";
  if (rc == PCAP_ERROR_PERM_DENIED) return "EPERM";
  return "EPCAP";
}

// The kernel filter "inbound and (filter)", attached to the socket; then the ring drained.
// 0 (an exception pending, the handle closed) when it cannot be.
static int attach_filter(napi_env env, pcap_t *p, const char *filter) {
  char expr[4200];
  snprintf(expr, sizeof expr, *filter ? "inbound and (%s)" : "inbound", filter);
  struct bpf_program program;
  if (pcap_compile(p, &program, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
    fail_closing(env, p, "EFILTER", "");
    return 0;
  }
  struct sock_fprog fprog = { .len = (unsigned short)program.bf_len, .filter = (struct sock_filter *)program.bf_insns };
  int rc = setsockopt(pcap_fileno(p), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog);
  pcap_freecode(&program);
  if (rc < 0) {
    char message[256];
    snprintf(message, sizeof message, "cannot attach the kernel filter: %s", strerror(errno));
    pcap_close(p);
    fail(env, "EPCAP", message);
    return 0;
  }
  // A block the ring was filling when the filter came is handed over at its timeout: wait for it.
  usleep(5000);
  struct pcap_pkthdr *header;
  const u_char *data;
  while (pcap_next_ex(p, &header, &data) == 1) {}
  return 1;
}

static napi_value open_live(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!args(env, info, 4, argv)) return NULL;
  char device[256], filter[4096];
  int32_t ring_bytes, snaplen;
  CALL(napi_get_value_string_utf8(env, argv[0], device, sizeof device, NULL));
  CALL(napi_get_value_string_utf8(env, argv[1], filter, sizeof filter, NULL));
  CALL(napi_get_value_int32(env, argv[2], &ring_bytes));
  CALL(napi_get_value_int32(env, argv[3], &snaplen));
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t *p = pcap_create(device, errbuf);
  if (p == NULL) return fail(env, "EPCAP", errbuf);
  pcap_set_snaplen(p, snaplen);
  pcap_set_promisc(p, 1);
  pcap_set_buffer_size(p, ring_bytes);
  pcap_set_timeout(p, 1);  // TPACKET_V3: frames packed in blocks, a block handed over within 1 ms
  int rc = pcap_activate(p);
  if (rc < 0) return fail_closing(env, p, activate_code(rc), "");
  if (pcap_datalink(p) != DLT_EN10MB) {
    char message[128];
    snprintf(message, sizeof message, "link type %s: only Ethernet interfaces can be captured", pcap_datalink_val_to_name(pcap_datalink(p)));
    pcap_close(p);
    return fail(env, "ELINK", message);
  }
  if (pcap_setdirection(p, PCAP_D_IN) < 0) return fail_closing(env, p, "EPCAP", "pcap_setdirection: ");
  if (pcap_setnonblock(p, 1, errbuf) < 0) {
    pcap_close(p);
    return fail(env, "EPCAP", errbuf);
  }
  if (!attach_filter(env, p, filter)) return NULL;
  Live *live = calloc(1, sizeof *live);
  if (live == NULL) {
    pcap_close(p);
    return fail(env, NULL, "out of memory");
  }
  live->p = p;
  pcap_stats(p, &live->base);
  napi_value handle;
  CALL(napi_create_external(env, live, finalize, NULL, &handle));
  return handle;
}

static napi_value read_frames(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return NULL;
  Live *live = unwrap(env, argv[0]);
  if (!live) return NULL;
  uint8_t *base;
  size_t length;
  CALL(napi_get_buffer_info(env, argv[1], (void **)&base, &length));
  size_t snap = (size_t)pcap_snapshot(live->p), offset = 0;
  uint32_t frames = 0;
  while (offset + 16 + snap <= length) {
    struct pcap_pkthdr *header;
    const u_char *data;
    int rc = pcap_next_ex(live->p, &header, &data);
    if (rc == 0) break;
    if (rc < 0) return fail(env, "EPCAP", pcap_geterr(live->p));
    uint32_t record[4] = { (uint32_t)header->ts.tv_sec, (uint32_t)header->ts.tv_usec, header->caplen, header->len };
    memcpy(base + offset, record, sizeof record);
    memcpy(base + offset + 16, data, header->caplen);
    offset += 16 + ((header->caplen + 3u) & ~3u);
    frames++;
  }
  napi_value result;
  CALL(napi_create_uint32(env, frames, &result));
  return result;
}

static napi_value set_number(napi_env env, napi_value object, const char *name, uint32_t value) {
  napi_value number;
  CALL(napi_create_uint32(env, value, &number));
  CALL(napi_set_named_property(env, object, name, number));
  return object;
}

static napi_value stats(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return NULL;
  Live *live = unwrap(env, argv[0]);
  if (!live) return NULL;
  struct pcap_stat s;
  if (pcap_stats(live->p, &s) < 0) return fail(env, "EPCAP", pcap_geterr(live->p));
  napi_value result;
  CALL(napi_create_object(env, &result));
  if (!set_number(env, result, "received", s.ps_recv - live->base.ps_recv)) return NULL;
  if (!set_number(env, result, "dropped", s.ps_drop - live->base.ps_drop)) return NULL;
  if (!set_number(env, result, "ifdropped", s.ps_ifdrop - live->base.ps_ifdrop)) return NULL;
  return result;
}

static napi_value inject(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  if (!args(env, info, 2, argv)) return NULL;
  Live *live = unwrap(env, argv[0]);
  if (!live) return NULL;
  void *data;
  size_t length;
  CALL(napi_get_buffer_info(env, argv[1], &data, &length));
  if (pcap_inject(live->p, data, length) != (int)length) return fail(env, "EPCAP", pcap_geterr(live->p));
  return NULL;
}

static napi_value close_live(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!args(env, info, 1, argv)) return NULL;
  void *data = NULL;
  CALL(napi_get_value_external(env, argv[0], &data));
  Live *live = data;
  if (live && live->p) {
    pcap_close(live->p);
    live->p = NULL;
  }
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
    { "open", NULL, open_live, NULL, NULL, NULL, napi_enumerable, NULL },
    { "read", NULL, read_frames, NULL, NULL, NULL, napi_enumerable, NULL },
    { "stats", NULL, stats, NULL, NULL, NULL, napi_enumerable, NULL },
    { "inject", NULL, inject, NULL, NULL, NULL, napi_enumerable, NULL },
    { "close", NULL, close_live, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  CALL(napi_define_properties(env, exports, sizeof methods / sizeof methods[0], methods));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
