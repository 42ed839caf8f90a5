// SPDX-License-Identifier: MIT
// The kernel's verifier verdict on programs of a BPF object, one program loaded at a time
// with libbpf (the object's other programs are not loaded, so one refusal does not hide the
// rest), printed as JSON. Built by test/support/kernel-verify.ts with gcc and libbpf.
//
//   kernel-verify [--caps root|bpf] [--log-level N] [--log-size BYTES] [--tail-bytes N]
//                 [--together] OBJECT PROG [PROG...]
//   kernel-verify --list OBJECT
//
// --caps root: as started (uid 0 with every capability). --caps bpf: every capability but
// CAP_BPF and CAP_NET_ADMIN dropped (effective, permitted, inheritable, ambient and the
// bounding set) before libbpf opens the object: what a loader holding CAP_BPF alone gets
// (no CAP_PERFMON: pointer leaks, uninitialised stack and Spectre v1/v4 are checked).
//
// --together loads the object's programs at once, as bpftool prog loadall (what tail-call
// chains need); if that fails, each program is asked about alone. One PROG prints an object,
// several (or --together) print an array of them, in order:
//   {"program": "...", "accepted": true|false, "errno": N, "log": "...", "insns_processed": N|null}
// errno is positive (0 when accepted); log is the verifier's log (log level 1 unless asked;
// a 16 MiB buffer unless --log-size; only its last N bytes, from a line start, with
// --tail-bytes). A log that does not fit makes the kernel answer ENOSPC whatever its
// verdict: the verdict, errno and insns_processed then come from a second load with log
// level 4 (statistics only), the log from the first, and "log_truncated": true is added.
// When libbpf fails before the kernel is asked to load the program (a relocation it cannot
// do, a map it cannot create) the object has "libbpf_error": its first warning instead, and
// the log is empty. --list prints the object's programs: [{"name", "section"}...].
// Exit 2 with a message on bad arguments or when the capabilities cannot be set.
#define _GNU_SOURCE
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static unsigned log_size = 16u << 20;
static size_t tail_bytes;
#define MESSAGES_SIZE (1u << 20)

static char *log_buf;
static char messages[MESSAGES_SIZE];
static size_t messages_len;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kernel-verify: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

/* libbpf's messages, kept to tell its own failures from the kernel's verdict. */
static int capture(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	int n;

	if (level == LIBBPF_DEBUG || messages_len >= MESSAGES_SIZE - 1)
		return 0;
	n = vsnprintf(messages + messages_len, MESSAGES_SIZE - messages_len, fmt, ap);
	if (n > 0)
		messages_len += (size_t)n < MESSAGES_SIZE - messages_len ? (size_t)n : MESSAGES_SIZE - 1 - messages_len;
	return 0;
}

/* Keep CAP_BPF and CAP_NET_ADMIN only, in every set, and check that the kernel agrees. */
static void drop_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	int cap;

	for (cap = 0; cap < 64; cap++) {
		if (cap == CAP_BPF || cap == CAP_NET_ADMIN)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			die("PR_CAPBSET_DROP %d: %s", cap, strerror(errno));
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		die("PR_CAP_AMBIENT_CLEAR_ALL: %s", strerror(errno));
	data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective |= CAP_TO_MASK(CAP_NET_ADMIN);
	data[CAP_TO_INDEX(CAP_BPF)].effective |= CAP_TO_MASK(CAP_BPF);
	for (int i = 0; i < 2; i++)
		data[i].permitted = data[i].inheritable = data[i].effective;
	if (syscall(SYS_capset, &hdr, data))
		die("capset: %s", strerror(errno));

	struct __user_cap_data_struct now[2] = {};
	if (syscall(SYS_capget, &hdr, now))
		die("capget: %s", strerror(errno));
	for (int i = 0; i < 2; i++)
		if (now[i].effective != data[i].effective || now[i].permitted != data[i].permitted)
			die("capabilities not dropped");
	if (prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0 || prctl(PR_CAPBSET_READ, CAP_PERFMON, 0, 0, 0) != 0)
		die("bounding set not dropped");
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* The number in the last "processed N insns" line of the log, or -1. */
static long insns_processed(const char *log)
{
	const char *p = log, *last = NULL;
	long n = -1;

	while ((p = strstr(p, "processed ")) != NULL) {
		last = p;
		p++;
	}
	if (last && sscanf(last, "processed %ld insns", &n) != 1)
		n = -1;
	return n;
}

/* libbpf's first warning line, without its "libbpf: " prefix. */
static const char *first_warning(char *out, size_t size)
{
	const char *s = messages, *end;

	if (!strncmp(s, "libbpf: ", 8))
		s += 8;
	end = strchr(s, '\n');
	snprintf(out, size, "%.*s", end ? (int)(end - s) : (int)strlen(s), s);
	return out;
}

/* The last tail_bytes of the log, from the start of a line (all of it without --tail-bytes). */
static const char *log_tail(const char *log)
{
	size_t len = strlen(log);
	const char *p;

	if (!tail_bytes || len <= tail_bytes)
		return log;
	p = log + len - tail_bytes;
	while (*p && p[-1] != '\n')
		p++;
	return p;
}

struct outcome {
	int err;
	bool kernel_asked;
};

/* Open the object, load `name` alone with the given log level into log_buf. */
static struct outcome load(const char *path, const char *name, int log_level)
{
	struct outcome o = { 0, false };
	struct bpf_object *obj;
	struct bpf_program *prog, *p;

	messages_len = 0;
	messages[0] = 0;
	log_buf[0] = 0;
	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		o.err = -errno;
		return o;
	}
	prog = bpf_object__find_program_by_name(obj, name);
	if (!prog)
		die("%s: no program %s", path, name);
	bpf_object__for_each_program(p, obj)
		bpf_program__set_autoload(p, p == prog);
	bpf_program__set_log_buf(prog, log_buf, log_size);
	bpf_program__set_log_level(prog, log_level);
	o.err = bpf_object__load(obj);
	o.kernel_asked = o.err == 0 || strstr(messages, "BPF program load failed") != NULL;
	/*
	 * The program loaded (it has an fd) but a later step of the object's load failed — e.g.
	 * filling a prog array with programs left unloaded here (EBADF): the kernel accepted it.
	 */
	if (o.err && bpf_program__fd(prog) >= 0) {
		o.err = 0;
		o.kernel_asked = true;
	}
	bpf_object__close(obj);
	return o;
}

static void verify(const char *path, const char *name, int log_level)
{
	char warning[1024];
	struct outcome o = load(path, name, log_level);
	long processed = o.kernel_asked ? insns_processed(log_buf) : -1;
	bool truncated = false;
	char *log = NULL;

	if (o.kernel_asked && o.err == -ENOSPC && log_level != 4) {
		/*
		 * ENOSPC: the log did not fit, and the kernel then reports ENOSPC whatever its
		 * verdict. Keep this log, and take the verdict from a load with statistics only
		 * (log level 4, whose log is a few lines).
		 */
		log = strdup(log_tail(log_buf));
		o = load(path, name, 4);
		processed = insns_processed(log_buf);
		truncated = o.err != -ENOSPC;
	}
	printf("{\"program\": ");
	json_string(name);
	printf(", \"accepted\": %s, \"errno\": %d, \"log\": ", o.err ? "false" : "true", o.err < 0 ? -o.err : o.err);
	json_string(log ? log : o.kernel_asked ? log_tail(log_buf) : "");
	if (processed >= 0)
		printf(", \"insns_processed\": %ld", processed);
	else
		printf(", \"insns_processed\": null");
	if (truncated)
		printf(", \"log_truncated\": true");
	if (!o.kernel_asked) {
		printf(", \"libbpf_error\": ");
		json_string(first_warning(warning, sizeof(warning)));
	}
	printf("}");
	free(log);
}

/*
 * --together: load every program of the object at once, as `bpftool prog loadall` (tail-call
 * chains need their prog arrays filled with loaded programs). Each program gets its own log.
 * Returns false (printing nothing) when the object does not load; the caller then asks the
 * kernel one program at a time.
 */
static bool verify_together(const char *path, char **names, int count, int log_level)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	char **logs = calloc(count, sizeof(char *));
	const size_t size = 1 << 20;
	bool ok;
	int i;

	if (!obj || !logs)
		return false;
	for (i = 0; i < count; i++) {
		struct bpf_program *prog = bpf_object__find_program_by_name(obj, names[i]);

		if (!prog)
			die("%s: no program %s", path, names[i]);
		logs[i] = calloc(1, size);
		bpf_program__set_log_buf(prog, logs[i], size);
		bpf_program__set_log_level(prog, log_level);
	}
	ok = bpf_object__load(obj) == 0;
	if (ok) {
		printf("[");
		for (i = 0; i < count; i++) {
			printf("%s{\"program\": ", i ? ",\n" : "");
			json_string(names[i]);
			printf(", \"accepted\": true, \"errno\": 0, \"log\": ");
			json_string(logs[i]);
			printf(", \"insns_processed\": %ld}", insns_processed(logs[i]));
		}
		printf("]\n");
	}
	for (i = 0; i < count; i++)
		free(logs[i]);
	free(logs);
	bpf_object__close(obj);
	return ok;
}

static void list(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	struct bpf_program *p;
	bool first = true;

	if (!obj)
		die("%s: %s", path, strerror(errno));
	printf("[");
	bpf_object__for_each_program(p, obj) {
		printf("%s{\"name\": ", first ? "" : ", ");
		json_string(bpf_program__name(p));
		printf(", \"section\": ");
		json_string(bpf_program__section_name(p));
		printf("}");
		first = false;
	}
	printf("]\n");
	bpf_object__close(obj);
}

int main(int argc, char **argv)
{
	const char *caps = "root", *object = NULL;
	int log_level = 1, first_prog = 0, i;
	bool listing = false, together = false;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--caps") && i + 1 < argc)
			caps = argv[++i];
		else if (!strcmp(argv[i], "--log-level") && i + 1 < argc)
			log_level = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--log-size") && i + 1 < argc)
			log_size = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--tail-bytes") && i + 1 < argc)
			tail_bytes = strtoul(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--list"))
			listing = true;
		else if (!strcmp(argv[i], "--together"))
			together = true;
		else if (argv[i][0] == '-')
			die("unknown option %s", argv[i]);
		else
			break;
	}
	if (i >= argc)
		die("usage: kernel-verify [--caps root|bpf] [--log-level N] [--log-size BYTES] [--tail-bytes N] OBJECT PROG... | --list OBJECT");
	object = argv[i];
	first_prog = i + 1;
	if (strcmp(caps, "root") && strcmp(caps, "bpf"))
		die("--caps: root or bpf, not %s", caps);
	if (!strcmp(caps, "bpf"))
		drop_caps();
	libbpf_set_print(capture);
	if (listing) {
		list(object);
		return 0;
	}
	if (first_prog >= argc)
		die("no program named");
	log_buf = malloc(log_size);
	if (!log_buf)
		die("out of memory");
	if (together && verify_together(object, argv + first_prog, argc - first_prog, log_level))
		return 0;
	if (together || argc - first_prog > 1)
		printf("[");
	for (i = first_prog; i < argc; i++) {
		if (i > first_prog)
			printf(",\n");
		verify(object, argv[i], log_level);
		fflush(stdout);
	}
	printf(together || argc - first_prog > 1 ? "]\n" : "\n");
	return 0;
}
