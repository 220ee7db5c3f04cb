#ifndef CSYNC_SHA256_H
#define CSYNC_SHA256_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SHA extensions (and SSSE3/SSE4.1) that
/// csync_sha256_blocks needs; 0 otherwise (then hash in Swift).
int csync_sha256_accelerated(void);

/// Runs the SHA-256 compression function over `blocks` 64-byte blocks of
/// `data`, updating `state` (a, b, …, h). Only call when accelerated.
void csync_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
