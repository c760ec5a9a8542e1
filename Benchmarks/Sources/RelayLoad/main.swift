// Load generator for scripts/relay-compare.sh, on Zest's own reactor (one thread each side).
//   RelayLoad sink --listen 127.0.0.1:0          read and discard until SIGTERM; prints the address
//   RelayLoad send --to ADDR --streams N --seconds S   push bulk data; prints "bytes=B seconds=T"
try runLoad()
