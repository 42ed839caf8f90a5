# Returns 1 (XDP_DROP) for IPv4 TCP to port 22, 2 (XDP_PASS) otherwise (the program `xdplab demo` shows).
# r1 = the frame, r2 = its length, as `xdplab exec` and the conformance suite run programs.
mov %r0, 2            # XDP_PASS unless proven otherwise
jlt %r2, 38, done     # need Ethernet (14) + IPv4 (20) + the TCP ports (4)
ldxh %r3, [%r1+12]    # EtherType, network order
be16 %r3
jne %r3, 0x0800, done
ldxb %r3, [%r1+23]    # IPv4 protocol
jne %r3, 6, done
ldxb %r4, [%r1+14]    # IHL: header length in 32-bit words
and %r4, 0x0f
lsh %r4, 2
add %r4, 14
mov %r5, %r4
add %r5, 4
jgt %r5, %r2, done
add %r1, %r4
ldxh %r3, [%r1+2]     # TCP destination port
be16 %r3
jne %r3, 22, done
mov %r0, 1            # XDP_DROP
done:
exit
