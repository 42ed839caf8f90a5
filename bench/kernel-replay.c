// SPDX-License-Identifier: MIT
// The kernel's side of bench/replay.js: what a user replaying a capture through their program
// does without xdplab — load the object with libbpf and run the program once per packet with
// BPF_PROG_TEST_RUN (bpf_prog_test_run_opts, repeat 1).
//
//   kernel-replay OBJ PROG PCAP [--map NAME FILE]... [--sum NAME]
//
// --map loads FILE (key and value bytes, one entry after the other) into map NAME first.
// --sum prints, for per-CPU array NAME, every key's value summed over the CPUs as u64 words.
// Prints one JSON line: packets, seconds (from opening the capture to the last verdict),
// packets/s, the verdict counts, and the sums.
//
// Build: gcc -O2 -o kernel-replay kernel-replay.c -lbpf (libbpf-dev). Needs root.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MAPS 8
#define MAX_VERDICTS 16

static void die(const char *what, int err)
{
	fprintf(stderr, "kernel-replay: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t rd32(const uint8_t *p, int swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

static void load_map(struct bpf_object *obj, const char *name, const char *file)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	FILE *f;
	uint8_t key[256], value[4096];
	size_t ks, vs;
	int fd;

	if (!map)
		die(name, ENOENT);
	ks = bpf_map__key_size(map);
	vs = bpf_map__value_size(map);
	if (ks > sizeof(key) || vs > sizeof(value))
		die(name, E2BIG);
	fd = bpf_map__fd(map);
	f = fopen(file, "rb");
	if (!f)
		die(file, errno);
	while (fread(key, 1, ks, f) == ks && fread(value, 1, vs, f) == vs) {
		int err = bpf_map_update_elem(fd, key, value, BPF_ANY);

		if (err)
			die("map update", err);
	}
	fclose(f);
}

static void print_sums(struct bpf_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, name);
	int cpus = libbpf_num_possible_cpus();
	size_t vs, stride, words;
	uint64_t *values;
	uint32_t key, n;

	if (!map || bpf_map__type(map) != BPF_MAP_TYPE_PERCPU_ARRAY)
		die(name, ENOENT);
	vs = bpf_map__value_size(map);
	stride = (vs + 7) / 8;
	words = vs / 8;
	n = bpf_map__max_entries(map);
	values = calloc(cpus, stride * 8);
	printf(", \"%s\": [", name);
	for (key = 0; key < n; key++) {
		if (bpf_map_lookup_elem(bpf_map__fd(map), &key, values))
			die("map lookup", errno);
		printf("%s[", key ? ", " : "");
		for (size_t w = 0; w < words; w++) {
			uint64_t sum = 0;

			for (int c = 0; c < cpus; c++)
				sum += values[c * stride + w];
			printf("%s%llu", w ? ", " : "", (unsigned long long)sum);
		}
		printf("]");
	}
	printf("]");
	free(values);
}

int main(int argc, char **argv)
{
	const char *map_names[MAX_MAPS], *map_files[MAX_MAPS], *sum = NULL;
	unsigned long long verdicts[MAX_VERDICTS] = { 0 }, other = 0, packets = 0;
	int maps = 0;
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct stat st;
	const uint8_t *file, *p, *end;
	int fd, prog_fd, swap, err;
	double t0, seconds;

	if (argc < 4) {
		fprintf(stderr, "usage: kernel-replay OBJ PROG PCAP [--map NAME FILE]... [--sum NAME]\n");
		return 2;
	}
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--map") && i + 2 < argc && maps < MAX_MAPS) {
			map_names[maps] = argv[i + 1];
			map_files[maps++] = argv[i + 2];
			i += 2;
		} else if (!strcmp(argv[i], "--sum") && i + 1 < argc) {
			sum = argv[++i];
		} else {
			fprintf(stderr, "kernel-replay: bad argument %s\n", argv[i]);
			return 2;
		}
	}

	obj = bpf_object__open_file(argv[1], NULL);
	err = libbpf_get_error(obj);
	if (err)
		die(argv[1], err);
	err = bpf_object__load(obj);
	if (err)
		die("load", err);
	prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog)
		die(argv[2], ENOENT);
	prog_fd = bpf_program__fd(prog);
	for (int i = 0; i < maps; i++)
		load_map(obj, map_names[i], map_files[i]);

	t0 = now();
	fd = open(argv[3], O_RDONLY);
	if (fd < 0 || fstat(fd, &st))
		die(argv[3], errno);
	file = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		die("mmap", errno);
	madvise((void *)file, st.st_size, MADV_SEQUENTIAL);
	if (st.st_size < 24)
		die(argv[3], EINVAL);
	switch (rd32(file, 0)) {
	case 0xa1b2c3d4: case 0xa1b23c4d: swap = 0; break;
	case 0xd4c3b2a1: case 0x4d3cb2a1: swap = 1; break;
	default: die("not a pcap file", EINVAL);
	}
	end = file + st.st_size;
	for (p = file + 24; p + 16 <= end;) {
		uint32_t len = rd32(p + 8, swap);
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = p + 16, .data_size_in = len, .repeat = 1);

		if (p + 16 + len > end)
			break;
		err = bpf_prog_test_run_opts(prog_fd, &opts);
		if (err)
			die("BPF_PROG_TEST_RUN", err);
		if (opts.retval < MAX_VERDICTS)
			verdicts[opts.retval]++;
		else
			other++;
		packets++;
		p += 16 + len;
	}
	seconds = now() - t0;

	printf("{\"packets\": %llu, \"seconds\": %.6f, \"pps\": %.0f, \"verdicts\": {", packets, seconds, packets / seconds);
	for (int v = 0, first = 1; v < MAX_VERDICTS; v++) {
		if (!verdicts[v])
			continue;
		printf("%s\"%d\": %llu", first ? "" : ", ", v, verdicts[v]);
		first = 0;
	}
	printf("}, \"other\": %llu", other);
	if (sum)
		print_sums(obj, sum);
	printf("}\n");
	munmap((void *)file, st.st_size);
	close(fd);
	bpf_object__close(obj);
	return 0;
}
