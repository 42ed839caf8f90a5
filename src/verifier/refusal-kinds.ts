/**
 * The kinds of refusal, as data: each a pattern over the kernel's error line (the messages of
 * kernel/bpf/verifier.c, which xdplab's verifier prints word for word), the kind's short name,
 * why the verifier refuses it in plain words, and what to change. The first match wins, so the
 * specific patterns come before the general ones.
 */

export interface RefusalKind {
  match: RegExp;
  category: string;
  reason: (m: RegExpMatchArray) => string;
  suggestion: (m: RegExpMatchArray) => string;
}

const BOUND_IT = 'give it bounds first: an unsigned type and `if (x > MAX) return ...;`, or a mask (`x &= 0xff`), on every path to the access.';

export const REFUSAL_KINDS: readonly RefusalKind[] = [
  // ---- the packet -------------------------------------------------------------------------
  {
    // A pointer with id 0 is data plus a constant; another id, data plus a variable (an IHL, a length).
    match: /invalid access to packet, off=(-?\d+) size=(\d+), R(\d+)\(id=(\d+),off=-?\d+,r=(\d+)\)/,
    category: 'unchecked packet access',
    reason: (m) => (m[4] === '0'
      ? `the program reads or writes ${m[2]} byte(s) at offset ${m[1]} of the packet through R${m[3]}, but on this path `
        + `it has only proved ${m[5]} byte(s) to be inside the packet (before data_end).`
      : `the program reads or writes ${m[2]} byte(s) at offset ${m[1]} from R${m[3]}, a packet pointer moved by a variable amount, `
        + `and this path has not compared that pointer itself with data_end (a check of data + N does not bound it).`),
    suggestion: (m) => (m[4] === '0'
      ? `compare the pointer with data_end before the access and leave when it is too short, e.g. `
        + `\`if (data + ${Number(m[1]) + Number(m[2])} > data_end) return XDP_DROP;\` — on every path that reaches it.`
      : 'compare the moved pointer with data_end after moving it and before the access, e.g. for a header '
        + '`struct tcphdr *tcp = (void *)ip + ip->ihl * 4;` add `if ((void *)(tcp + 1) > data_end) return XDP_PASS;`.'),
  },
  {
    match: /R(\d+) offset is outside of the packet/,
    category: 'unchecked packet access',
    reason: (m) => `R${m[1]} points past what the program proved to be inside the packet.`,
    suggestion: () => 'check the pointer against data_end (data + offset + size <= data_end) before using it.',
  },
  {
    match: /cannot write into packet|helper access to the packet is not allowed/,
    category: 'packet access this program type lacks',
    reason: () => 'this program type (or this hook) may not write the packet directly, or pass packet memory to this helper.',
    suggestion: () => 'copy the bytes to the stack first, or use the helper made for it (bpf_skb_store_bytes, bpf_xdp_store_bytes).',
  },
  {
    match: /BPF_LD_\[ABS\|IND\] instructions not allowed|BPF_LD_ABS\|IND R6 != pointer to skb/,
    category: 'legacy packet access',
    reason: () => 'LD_ABS/LD_IND (load_byte/load_half/load_word) exist only for socket-buffer programs, and need the context in R6.',
    suggestion: () => 'read the packet directly (data/data_end with a bounds check) or with bpf_skb_load_bytes.',
  },
  // ---- NULL, non-pointers, registers ------------------------------------------------------
  {
    match: /R(\d+) (?:invalid mem access '|type=)(\w+_or_null)|Possibly NULL pointer passed to helper arg(\d+)|pointer arithmetic on (\w+_or_null) prohibited, null-check it first/,
    category: 'NULL pointer not checked',
    reason: (m) => `${m[1] ? `R${m[1]}` : m[3] ? `argument ${m[3]}` : 'the pointer'} may be NULL here (${m[2] ?? m[4] ?? 'or_null'}): a map lookup `
      + 'or a socket lookup finds nothing for some keys, and the program uses the result without checking.',
    suggestion: () => 'check it right after the lookup, before any use: `if (!ptr) return ...;`.',
  },
  {
    match: /R(\d+) invalid mem access 'scalar'/,
    category: 'dereference of a non-pointer',
    reason: (m) => `R${m[1]} holds a number, not a pointer, on this path: the value was computed, loaded from memory as data, or `
      + 'lost its pointer type (a helper that changes the packet invalidates packet pointers; a call clobbers R1-R5).',
    suggestion: () => 'reload the pointer after the helper call (e.g. data = (void *)(long)ctx->data) and check it again before use.',
  },
  {
    match: /R(\d+) !read_ok/,
    category: 'uninitialised register',
    reason: (m) => `R${m[1]} is read before anything was written to it on this path (R1-R5 are lost after every call; R0 must be set before exit).`,
    suggestion: (m) => `give R${m[1]} a value on every path that reaches this instruction (for R1-R5: after the last call; keep values across calls in R6-R9 or on the stack).`,
  },
  {
    match: /frame pointer is read only/,
    category: 'write to the frame pointer',
    reason: () => 'R10, the frame pointer, is read-only.',
    suggestion: () => 'copy it to another register (r1 = r10) and change the copy.',
  },
  // ---- the stack --------------------------------------------------------------------------
  {
    match: /invalid (?:indirect )?read from stack (?:R\d+ )?(?:off|var_off) (-?\S+?)\+(\d+) size (\d+)/,
    category: 'uninitialised stack',
    reason: (m) => `the program reads stack bytes that were never written (at fp${m[1]}+${m[2]}); without CAP_PERFMON, and always for `
      + 'memory handed to a helper, the kernel refuses reads of uninitialised stack.',
    suggestion: () => 'initialise the whole variable or struct first (e.g. `= {}` or __builtin_memset), including padding.',
  },
  {
    match: /invalid(?: unbounded)?(?: variable-offset)?(?: indirect)?(?: read from| write to| access to)? stack R(\d+)(?: off=(-?\d+) size=(\d+))?/,
    category: 'stack access out of bounds',
    reason: (m) => (m[2] ? `the access at fp${m[2]} of ${m[3]} bytes` : `the access through R${m[1]}`)
      + ' is outside the 512-byte stack frame (or above the frame pointer), or its offset is not bounded.',
    suggestion: () => 'keep stack accesses within [r10 - 512, r10) with bounded offsets; large buffers belong in a per-CPU array map.',
  },
  {
    match: /variable (?:offset )?stack (?:access|pointer)|stack pointer arithmetic goes out of range|subtraction from stack pointer prohibited|in range of var-offset (?:stack )?write/,
    category: 'variable stack offset',
    reason: () => 'the stack is indexed with a value the verifier does not know exactly; loaders without CAP_PERFMON may only use constant stack offsets, and helpers never take variable ones.',
    suggestion: () => 'index a map value (an array map) instead of the stack, or use constant offsets (unroll the loop).',
  },
  {
    match: /leaking pointer from stack|attempt to corrupt spilled pointer|corrupted spill memory|partial copy of pointer|sign-extension part of pointer|invalid size of register (?:spill|fill)|spilled ptr in range/,
    category: 'pointer on the stack misused',
    reason: () => 'a pointer saved on the stack is read back only in part, overwritten in part, or read as a number.',
    suggestion: () => 'save and restore pointers whole (8 bytes, at an 8-aligned slot), and do not reuse their slots for other data.',
  },
  {
    match: /cannot return stack pointer to the caller|cannot spill pointers to stack into stack frame of the caller/,
    category: 'stack pointer escapes its frame',
    reason: () => 'a function returns, or stores into its caller\'s frame, a pointer to its own stack, which ends when it returns.',
    suggestion: () => 'let the caller own the buffer and pass a pointer to it down.',
  },
  {
    match: /the call stack of (\d+) frames is too deep|combined stack size of (\d+) calls is (\d+)|tail_calls are not allowed when call stack/,
    category: 'call stack too deep',
    reason: (m) => (m[1] ? `the chain of calls reaches ${m[1]} frames; the kernel allows 8.`
      : m[2] ? `the stack of ${m[2]} nested calls adds up to ${m[3]} bytes; the kernel allows 512.`
        : 'with tail calls, the frames before a tail call may hold at most 256 bytes of stack.'),
    suggestion: () => 'flatten the calls (__always_inline), shrink the stack variables, or keep big data in a per-CPU array map.',
  },
  // ---- maps -------------------------------------------------------------------------------
  {
    match: /invalid access to map value, value_size=(\d+) off=(-?\d+) size=(\d+)/,
    category: 'map value out of bounds',
    reason: (m) => `the access of ${m[3]} byte(s) at offset ${m[2]} is outside the ${m[1]}-byte map value.`,
    suggestion: () => 'bound the index before using it (`if (idx >= N) return ...;` or `idx &= N - 1` for a power of two) so every offset stays inside the value.',
  },
  {
    match: /invalid access to memory, mem_size=(\d+) off=(-?\d+) size=(\d+)/,
    category: 'memory region out of bounds',
    reason: (m) => `the access of ${m[3]} byte(s) at offset ${m[2]} is outside the ${m[1]}-byte region (a ring buffer record, or memory a helper returned).`,
    suggestion: () => 'stay inside the size the region was made with (the size given to bpf_ringbuf_reserve, …).',
  },
  {
    match: /(write into|read from) map forbidden/,
    category: 'map access its flags forbid',
    reason: (m) => `the map is ${m[1] === 'write into' ? 'read-only to programs (BPF_F_RDONLY_PROG, .rodata, a frozen map, or a map whose values programs may not write)' : 'write-only to programs (BPF_F_WRONLY_PROG)'}.`,
    suggestion: (m) => (m[1] === 'write into' ? 'keep values the program changes in a writable map (.data/.bss, or one without BPF_F_RDONLY_PROG).' : 'drop BPF_F_WRONLY_PROG, or do not read the value.'),
  },
  {
    match: /cannot pass map_type (\d+) into func (\S+)|expected prog array map for tail call|callback function not allowed for map|no direct value access support for this map type/,
    category: 'wrong map type for the helper',
    reason: (m) => (m[2] ? `${m[2].replace(/#\d+$/, '')} does not take a map of type ${m[1]}.` : 'this helper or access does not work on this type of map.'),
    suggestion: () => 'use the map type the helper is made for (bpf_tail_call: a prog array; bpf_redirect_map: a devmap, cpumap or xskmap; push/pop: a queue or stack; ring buffer helpers: a ring buffer).',
  },
  // ---- offsets and arithmetic -------------------------------------------------------------
  {
    match: /min value is negative|unbounded memory access|register with unbounded min value|makes \w+ pointer be out of bounds|unbounded min value|mixed signed bounds|beyond pointer bounds|min value is outside of the allowed memory range|max value is outside of the allowed memory range/,
    category: 'unbounded offset',
    reason: () => 'an offset added to a pointer may be negative or arbitrarily large on this path, so the verifier cannot prove the access is inside the object.',
    suggestion: () => BOUND_IT,
  },
  {
    match: /R(\d+) leaks addr|leaks addr into/,
    category: 'pointer leak',
    reason: (m) => `${m[1] ? `R${m[1]}` : 'a register'} is a pointer and would be stored or returned where its value becomes visible; only loaders with CAP_PERFMON may do that.`,
    suggestion: () => 'store or return a number, not a pointer — or load the program with CAP_PERFMON (or as root).',
  },
  {
    match: /pointer arithmetic|pointer comparison prohibited|pointer \S+ pointer prohibited|bitwise operator|subtract pointer|unsupported alu operation|from different maps, paths or scalars|math between \S+ pointer and|32-bit pointer arithmetic/,
    category: 'pointer arithmetic not allowed',
    reason: () => 'this arithmetic or comparison on a pointer is not allowed for this pointer type or privilege level.',
    suggestion: () => 'add only bounded offsets to packet, stack and map value pointers; loaders without CAP_PERFMON may add only constants to packet pointers.',
  },
  {
    match: /misaligned (\w+ )?access off/,
    category: 'misaligned access',
    reason: (m) => `the ${m[1] ?? ''}access is not aligned to its size; the kernel requires natural alignment here (always for the stack and for atomics; for the rest when the architecture does).`,
    suggestion: () => 'align the field (or the offset) to the access size, or copy the bytes with __builtin_memcpy.',
  },
  // ---- the context ------------------------------------------------------------------------
  {
    match: /invalid bpf_context access off=(-?\d+) size=(\d+)/,
    category: 'invalid context access',
    reason: (m) => `the program type's context has no field it may access at offset ${m[1]} with size ${m[2]} (the field does not exist, is read-only, or must be read whole).`,
    suggestion: () => 'use the context struct\'s fields by name (struct xdp_md / struct __sk_buff) with their own width, and write only writable fields.',
  },
  {
    match: /dereference of modified (\w+) ptr|variable (\w+) access var_off|negative offset (\w+) ptr|(\w+) pointer offset -?\d+ is not allowed/,
    category: 'invalid context access',
    reason: () => 'the context (or a socket) pointer was moved before the access: its fields are read at constant offsets from the pointer itself, since the kernel rewrites each such access.',
    suggestion: () => 'read the field straight from the context argument (ctx->field), not through a pointer moved by a variable or a computed offset.',
  },
  {
    match: /R(\d+) invalid (\w+) access off=(-?\d+) size=(\d+)|cannot be accessed directly by load\/store/,
    category: 'invalid field access',
    reason: (m) => (m[2] ? `a ${m[2]} has no field the program may access at offset ${m[3]} with size ${m[4]}.` : 'this object may only be used through helpers.'),
    suggestion: () => 'use the struct\'s fields by name with their own width (for a socket: after bpf_sk_fullsock when the field needs a full socket).',
  },
  // ---- helpers and calls ------------------------------------------------------------------
  {
    match: /program of this type cannot use helper (\S+)|invalid func (\S+)|unknown func (\S+)|cannot call GPL-restricted function|helper call might sleep/,
    category: 'helper not available',
    reason: (m) => (m[1] ?? m[2] ?? m[3]
      ? `${(m[1] ?? m[2] ?? m[3]).replace(/#\d+$/, '')} is not offered to this program type (or needs CAP_PERFMON).`
      : 'this helper is not offered to this program (its license, or it may sleep where the program may not).'),
    suggestion: () => 'use a helper this program type has (an XDP program cannot call bpf_skb_* helpers, a TC program cannot call bpf_xdp_*); GPL-only helpers need a GPL-compatible license.',
  },
  {
    match: /R(\d+) type=(\S+) expected=(.+)/,
    category: 'wrong helper argument',
    reason: (m) => `argument R${m[1]} is a ${m[2]} where the helper expects ${m[3]}.`,
    suggestion: () => 'pass the kind of pointer the helper\'s signature asks for (a map, a stack buffer, the context…).',
  },
  {
    match: /invalid zero-sized read|R(\d+) invalid zero-sized read|write to change key|string is not zero-terminated|is not a known constant|is not a constant address|does not point to a readonly map/,
    category: 'wrong helper argument',
    reason: () => 'an argument is not what the helper needs: a size that may be zero (or a map with no key or value to read), a key written by a callback, or a value the helper needs to be constant.',
    suggestion: () => 'bound sizes to at least 1 (`if (len < 1 || len > MAX) return ...;`), pass constants where the helper asks for them, and leave callback keys alone.',
  },
  {
    match: /At (callback return|program exit|subprogram exit) the register R0 (?:has (.*?) should have been in (\[.*\])|is not a scalar value.*)|R0 not a scalar value/,
    category: 'return value out of range',
    reason: (m) => (m[3] ? `at ${m[1]} R0 may be ${m[2].trim()}, but must be in ${m[3]}.` : 'the function returns a pointer where a number is expected.'),
    suggestion: () => 'return one of the values the program type (or the callback) allows, on every path.',
  },
  {
    match: /Unreleased reference id=(\d+) alloc_insn=(\d+)|reference leak|has not been acquired before|must be referenced when passed to release|more than one arg with ref_obj_id/,
    category: 'reference leak',
    reason: (m) => (m[2] ? `the reference taken at instruction ${m[2]} (a ring buffer reservation or a socket) is not released on this path before the program ends.`
      : 'a reference (ring buffer record, socket) is released twice, released without being taken, or lost.'),
    suggestion: () => 'release each reference exactly once on every path: bpf_ringbuf_submit/bpf_ringbuf_discard for a reservation, bpf_sk_release for a socket.',
  },
  {
    match: /spin_lock|bpf_spin|holding a lock/,
    category: 'lock misuse',
    reason: () => 'bpf_spin_lock/bpf_spin_unlock are not used in pairs on one lock, or a forbidden call happens while the lock is held.',
    suggestion: () => 'take one lock at a time, call no helpers while holding it, and unlock before every exit.',
  },
  {
    match: /callback function not static|call to invalid destination|too many subprograms/,
    category: 'invalid function call',
    reason: () => 'a bpf-to-bpf call or callback does not name a valid function of the program.',
    suggestion: () => 'make callbacks static functions and call only functions of the same object.',
  },
  // ---- control flow and size --------------------------------------------------------------
  {
    match: /infinite loop detected at insn (\d+)/,
    category: 'loop the verifier cannot bound',
    reason: (m) => `the verifier came back to instruction ${m[1]} in exactly the same state: the loop may never end.`,
    suggestion: () => 'make the loop\'s bound visible: a counter compared with a constant, or bpf_loop() for long loops.',
  },
  {
    match: /BPF program is too large|jumps is too complex|The sequence of \d+ jumps/,
    category: 'too complex to verify',
    reason: () => 'the verifier hit its limit (1,000,000 instructions explored, or 8192 pending branches) before proving every path safe.',
    suggestion: () => 'shorten loops (or use bpf_loop()), split the program with tail calls or global functions, and reduce independent branches.',
  },
  {
    match: /back-edge|unreachable insn|jump out of range|last insn is not an exit|jump into the middle/,
    category: 'malformed control flow',
    reason: () => 'the program\'s jumps do not form a valid function (dead code, a jump outside the function, or falling off its end).',
    suggestion: () => 'rebuild from C; hand-written assembly must end every function with exit and jump only inside it.',
  },
  {
    match: /unknown opcode|uses reserved fields|invalid bpf_ld_imm64|unrecognized bpf_ld_imm64|invalid BPF_LD|invalid atomic|BPF_ATOMIC uses invalid|unknown insn class|invalid BPF_ALU opcode|invalid BPF_JMP|invalid shift|invalid may_goto|is not pointing to valid bpf_map|direct value offset/,
    category: 'invalid instruction',
    reason: () => 'the instruction is not one the kernel accepts: an unknown opcode, reserved fields set, a bad 64-bit immediate, or a shift or size out of range.',
    suggestion: () => 'rebuild with a clang for this kernel (a lower -mcpu if the kernel is older), and check hand-written assembly against the ISA (RFC 9669).',
  },
  {
    match: /BPF_ATOMIC (?:stores into|loads from) R(\d+) (\w+) is not allowed/,
    category: 'atomic on memory that does not allow it',
    reason: (m) => `atomic operations work on the stack and map values; R${m[1]} points to ${m[2] === 'ctx' ? 'the context' : m[2] === 'pkt' ? 'the packet' : m[2]}.`,
    suggestion: () => 'do the atomic operation on a map value (e.g. a per-CPU or array map counter).',
  },
  {
    match: /div by zero/,
    category: 'division by zero',
    reason: () => 'the program divides by the constant 0.',
    suggestion: () => 'divide by a non-zero value (a register divisor of 0 gives 0 at run time, but a constant 0 is refused).',
  },
];

export const GENERIC_REFUSAL: RefusalKind = {
  match: /.*/,
  category: 'refused',
  reason: () => 'the verifier cannot prove this instruction safe on this path.',
  suggestion: () => 'see the kernel-format log (xdplab verify --log-level 1) for the state of every register on the failing path.',
};
