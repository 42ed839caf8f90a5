// SPDX-License-Identifier: GPL-2.0
// The kernel types an XDP or TC program can reach, from the uapi headers (whose layouts are the
// kernel's ABI): the BTF clang emits for this file stands in for vmlinux BTF when xdplab resolves
// CO-RE relocations (src/spec/core.ts). Regenerate src/spec/target-btf/uapi-btf.ts with
// scripts/gen-target-btf.sh after editing.
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <linux/pkt_cls.h>

struct xdplab_uapi_types {
	struct __sk_buff skb;
	struct xdp_md xdp;
	struct bpf_sock sk;
	struct bpf_sock_tuple tuple;
	struct bpf_tcp_sock tcp_sk;
	struct bpf_xdp_sock xdp_sk;
	struct bpf_fib_lookup fib;
	struct bpf_tunnel_key tunnel_key;
	struct bpf_xfrm_state xfrm;
	struct bpf_redir_neigh neigh;
	struct bpf_flow_keys flow_keys;
	struct bpf_spin_lock spin_lock;
	struct bpf_timer timer;
	struct bpf_dynptr dynptr;
	struct bpf_devmap_val devmap_val;
	struct bpf_cpumap_val cpumap_val;
	struct bpf_perf_event_value perf_value;
	struct ethhdr eth;
	struct iphdr ip;
	struct ipv6hdr ip6;
	struct ipv6_opt_hdr ip6_opt;
	struct in_addr in;
	struct in6_addr in6;
	struct tcphdr tcp;
	struct udphdr udp;
	struct icmp6hdr icmp6;
	enum bpf_func_id func_id;
	enum bpf_map_type map_type;
	enum bpf_prog_type prog_type;
	enum bpf_attach_type attach_type;
	enum xdp_action xdp_action;
	enum bpf_adj_room_mode adj_room_mode;
	enum bpf_hdr_start_off hdr_start_off;
	enum bpf_lwt_encap_mode lwt_encap_mode;
	enum bpf_check_mtu_ret check_mtu_ret;
	enum bpf_check_mtu_flags check_mtu_flags;
	enum bpf_task_fd_type task_fd_type;
	enum bpf_link_type link_type;
};

struct xdplab_uapi_types xdplab_uapi_types;
