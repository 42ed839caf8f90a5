/** include/uapi/asm-generic/errno-base.h and errno.h, the values the kernel's BPF code returns. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  EPROTO: 71,
  EOVERFLOW: 75,
  EMSGSIZE: 90,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  ENETDOWN: 100,
  EALREADY: 114,
  ENOTSUPP: 524,
} as const;

export type ErrnoName = keyof typeof ERRNO;

/** The errno's name (`EACCES`), for an errno of either sign. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  return (Object.keys(ERRNO) as ErrnoName[]).find((k) => ERRNO[k] === n) ?? `errno ${n}`;
}
