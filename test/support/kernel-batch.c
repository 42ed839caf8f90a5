// SPDX-License-Identifier: MIT
// BPF_PROG_TEST_RUN over many packets in one process, for tests that compare whole captures
// with xdplab (one bpftool process a packet would take minutes). Built by
// test/support/kernel-object.ts with gcc and libbpf when both are there.
//
//   kernel-batch PINNED_PROG IN OUT
//
// IN: records of (u32 length, bytes), little-endian. OUT: for each, (u32 retval, u32 length,
// data_out bytes). Exit 2 with a message on any error.
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PACKET 65536

static void die(const char *what, int err)
{
	fprintf(stderr, "kernel-batch: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(2);
}

int main(int argc, char **argv)
{
	static uint8_t in[MAX_PACKET], out[MAX_PACKET + 4096];
	FILE *fin, *fout;
	uint32_t len;
	int prog_fd;

	if (argc != 4) {
		fprintf(stderr, "usage: kernel-batch PINNED_PROG IN OUT\n");
		return 2;
	}
	prog_fd = bpf_obj_get(argv[1]);
	if (prog_fd < 0)
		die(argv[1], errno);
	fin = fopen(argv[2], "rb");
	fout = fopen(argv[3], "wb");
	if (!fin || !fout)
		die("open", errno);
	while (fread(&len, 4, 1, fin) == 1) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_size_in = len,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = 1);
		uint32_t head[2];

		if (len > MAX_PACKET || fread(in, 1, len, fin) != len)
			die(argv[2], EINVAL);
		if (bpf_prog_test_run_opts(prog_fd, &opts))
			die("BPF_PROG_TEST_RUN", errno);
		head[0] = opts.retval;
		head[1] = opts.data_size_out;
		fwrite(head, 4, 2, fout);
		fwrite(out, 1, opts.data_size_out, fout);
	}
	fclose(fin);
	if (fclose(fout))
		die(argv[3], errno);
	return 0;
}
