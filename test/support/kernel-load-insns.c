/*
 * kernel-load-insns: asks the running kernel's verifier about raw BPF programs.
 *
 * Hand-written because no package does this: libbpf and bpftool load ELF objects, while the
 * verifier's tests need to hand the kernel instruction streams that clang would never emit,
 * thousands of them a second, under a chosen privilege set.
 *
 * Usage: kernel-load-insns [--caps root|bpf] [--tail-bytes N]
 *   (bpf: keep only CAP_BPF and CAP_NET_ADMIN; --tail-bytes: print only each log's last N bytes)
 * stdin, one program per line:
 *   <prog_type> <expected_attach_type> <log_level> <prog_flags> <maps> <insns-hex> [<btf-hex> <func-info>]
 *   maps: "-" or a comma-separated list of type:key_size:value_size:max_entries:map_flags[:inner],
 *   inner (maps of maps) the index of an earlier map of the list, the inner map's template;
 *   map i is named "m<i>" (as the verifier's messages name it);
 *   an lddw with src_reg BPF_PSEUDO_MAP_FD (1) or BPF_PSEUDO_MAP_VALUE (2) names the map by
 *   its index in the list in imm, which is replaced by the map's fd.
 *   btf-hex and func-info (optional, "-" for none): a raw BTF blob loaded with BPF_BTF_LOAD
 *   and the program's func_info as insn_off:type_id pairs, comma-separated (the kernel
 *   wants func_info for programs that pass callbacks, BPF_PSEUDO_FUNC).
 * stdout, one JSON object per line: {"accepted":true|false,"errno":N,"log":"..."}
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_BPF
#define CAP_BPF 39
#endif
#define LOG_SIZE (16u << 20)
#define MAX_MAPS 16

static char *log_buf;
static size_t tail_bytes; /* --tail-bytes N: print only the log's last N bytes (0: all of it) */

static int sys_bpf(int cmd, union bpf_attr *attr) {
  return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static void drop_to_bpf_caps(void) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof(data));
  for (int cap = 0; cap <= 63; cap++) {
    if (cap == CAP_BPF || cap == CAP_NET_ADMIN) continue;
    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  }
  unsigned keep[] = {CAP_BPF, CAP_NET_ADMIN};
  for (unsigned i = 0; i < 2; i++) {
    data[keep[i] / 32].effective |= 1u << (keep[i] % 32);
    data[keep[i] / 32].permitted |= 1u << (keep[i] % 32);
  }
  if (syscall(SYS_capset, &hdr, data) != 0) {
    perror("capset");
    exit(2);
  }
}

static void print_json_string(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') printf("\\%c", c);
    else if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c < 0x20) printf("\\u%04x", c);
    else putchar(c);
  }
  putchar('"');
}

static int create_maps(char *spec, int *fds) {
  int n = 0;
  if (strcmp(spec, "-") == 0) return 0;
  for (char *item = strtok(spec, ","); item && n < MAX_MAPS; item = strtok(NULL, ",")) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    unsigned type, key, value, entries, flags;
    int inner = -1;
    int fields = sscanf(item, "%u:%u:%u:%u:%u:%d", &type, &key, &value, &entries, &flags, &inner);
    if (fields < 5) return -1;
    if (fields == 6) {
      if (inner < 0 || inner >= n) return -1;
      attr.inner_map_fd = fds[inner];
    }
    attr.map_type = type;
    snprintf(attr.map_name, sizeof(attr.map_name), "m%d", n);
    attr.key_size = key;
    attr.value_size = value;
    attr.max_entries = entries;
    attr.map_flags = flags;
    int fd = sys_bpf(BPF_MAP_CREATE, &attr);
    if (fd < 0) {
      fprintf(stderr, "map %d (%s): %s\n", n, item, strerror(errno));
      return -1;
    }
    fds[n++] = fd;
  }
  return n;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void unhex(const char *hex, unsigned char *out, size_t bytes) {
  for (size_t i = 0; i < bytes; i++) out[i] = (unsigned char)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
}

/* BPF_BTF_LOAD of a raw blob; -1 (and the reason on stderr) when the kernel refuses it. */
static int load_btf(const char *hex) {
  size_t bytes = strlen(hex) / 2;
  unsigned char *blob = malloc(bytes + 1);
  unhex(hex, blob, bytes);
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.btf = (uint64_t)(uintptr_t)blob;
  attr.btf_size = (uint32_t)bytes;
  attr.btf_log_buf = (uint64_t)(uintptr_t)log_buf;
  attr.btf_log_size = LOG_SIZE;
  attr.btf_log_level = 1;
  log_buf[0] = 0;
  int fd = sys_bpf(BPF_BTF_LOAD, &attr);
  if (fd < 0) fprintf(stderr, "BTF_LOAD: %s\n%s\n", strerror(errno), log_buf);
  free(blob);
  return fd;
}

static void load_one(char *line) {
  unsigned prog_type, attach_type, log_level, prog_flags;
  char maps[1024], *hex = malloc(strlen(line) + 1), *btf_hex = malloc(strlen(line) + 1), *finfo = malloc(strlen(line) + 1);
  int fds[MAX_MAPS];
  strcpy(btf_hex, "-");
  strcpy(finfo, "-");
  int fields = sscanf(line, "%u %u %u %u %1023s %s %s %s", &prog_type, &attach_type, &log_level, &prog_flags, maps, hex, btf_hex, finfo);
  if (fields != 6 && fields != 8) {
    printf("{\"error\":\"bad input line\"}\n");
    fflush(stdout);
    free(hex);
    free(btf_hex);
    free(finfo);
    return;
  }
  size_t bytes = strlen(hex) / 2;
  struct bpf_insn *insns = calloc(bytes / 8 + 1, sizeof(struct bpf_insn));
  unsigned char *raw = (unsigned char *)insns;
  unhex(hex, raw, bytes);
  int nmaps = create_maps(maps, fds);
  int btf_fd = -1;
  if (nmaps >= 0 && strcmp(btf_hex, "-") != 0 && (btf_fd = load_btf(btf_hex)) < 0) {
    for (int i = 0; i < nmaps; i++) close(fds[i]);
    nmaps = -1;
  }
  if (nmaps < 0) {
    printf("{\"error\":\"cannot create maps or BTF\"}\n");
    fflush(stdout);
    free(hex);
    free(btf_hex);
    free(finfo);
    free(insns);
    return;
  }
  struct bpf_func_info func_info[256];
  unsigned nfuncs = 0;
  if (strcmp(finfo, "-") != 0) {
    for (char *item = strtok(finfo, ","); item && nfuncs < 256; item = strtok(NULL, ",")) {
      if (sscanf(item, "%u:%u", &func_info[nfuncs].insn_off, &func_info[nfuncs].type_id) == 2) nfuncs++;
    }
  }
  size_t count = bytes / 8;
  for (size_t i = 0; i + 1 < count; i++) {
    struct bpf_insn *in = &insns[i];
    if (in->code == (BPF_LD | BPF_IMM | BPF_DW) && (in->src_reg == 1 || in->src_reg == 2)) {
      if (in->imm >= 0 && in->imm < nmaps) in->imm = fds[in->imm];
      i++;
    }
  }
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = prog_type;
  attr.expected_attach_type = attach_type;
  attr.insns = (uint64_t)(uintptr_t)insns;
  attr.insn_cnt = (uint32_t)count;
  attr.license = (uint64_t)(uintptr_t)"GPL";
  attr.prog_flags = prog_flags;
  if (btf_fd >= 0) {
    attr.prog_btf_fd = btf_fd;
    attr.func_info_rec_size = sizeof(struct bpf_func_info);
    attr.func_info = (uint64_t)(uintptr_t)func_info;
    attr.func_info_cnt = nfuncs;
  }
  log_buf[0] = 0;
  if (log_level) {
    attr.log_level = log_level;
    attr.log_buf = (uint64_t)(uintptr_t)log_buf;
    attr.log_size = LOG_SIZE;
  }
  int fd = sys_bpf(BPF_PROG_LOAD, &attr);
  int err = fd < 0 ? errno : 0;
  printf("{\"accepted\":%s,\"errno\":%d,\"log\":", fd >= 0 ? "true" : "false", err);
  size_t len = strlen(log_buf);
  print_json_string(tail_bytes && len > tail_bytes ? log_buf + len - tail_bytes : log_buf);
  printf("}\n");
  fflush(stdout);
  if (fd >= 0) close(fd);
  for (int i = 0; i < nmaps; i++) close(fds[i]);
  if (btf_fd >= 0) close(btf_fd);
  free(hex);
  free(btf_hex);
  free(finfo);
  free(insns);
}

int main(int argc, char **argv) {
  const char *caps = "root";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--caps") == 0 && i + 1 < argc) caps = argv[++i];
    else if (strcmp(argv[i], "--tail-bytes") == 0 && i + 1 < argc) tail_bytes = strtoul(argv[++i], NULL, 10);
    else caps = "";
  }
  if (strcmp(caps, "bpf") == 0) drop_to_bpf_caps();
  else if (strcmp(caps, "root") != 0) {
    fprintf(stderr, "usage: kernel-load-insns [--caps root|bpf] [--tail-bytes N] < programs\n");
    return 2;
  }
  log_buf = malloc(LOG_SIZE);
  size_t cap = 0;
  char *line = NULL;
  while (getline(&line, &cap, stdin) > 0) {
    line[strcspn(line, "\n")] = 0;
    if (*line) load_one(line);
  }
  free(line);
  return 0;
}
