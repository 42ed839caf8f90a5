{
  "targets": [
    {
      "target_name": "xdplab_libpcap",
      "sources": ["src/libpcap.c"],
      "libraries": ["-lpcap"],
      "cflags": ["-Wall", "-Wextra", "-Werror", "-std=gnu11"]
    }
  ]
}
