#ifndef AGENTHOST_VECTOR_KERNELS_H
#define AGENTHOST_VECTOR_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Dot products over vectors stored as IEEE 754 half precision (binary16), the scan behind document
// retrieval. Half precision halves the bytes a scan reads, and the scan is bound by memory
// bandwidth; the widening to single precision and the multiply-adds run in AVX2/F16C/FMA when
// the processor has them (chosen at run time, so the binary still runs on any x86-64) and in
// portable C otherwise. Swift cannot compile one function for several instruction sets and pick
// among them at run time, hence C.

/// Whether the AVX2 + F16C + FMA kernels are in use on this processor.
bool vk_is_accelerated(void);

/// Rounds `count` floats to half precision (to nearest, ties to even; beyond ±65504 to infinity).
void vk_half_from_float(const float *source, uint16_t *destination, size_t count);

/// `scores[row] = dot(rows[row * dimensions ..< (row + 1) * dimensions], query)` for every row in
/// `0 ..< rowCount`, summed in single precision.
void vk_dot_half_rows(const uint16_t *rows, size_t rowCount, size_t dimensions, const float *query, float *scores);

/// The portable versions of the two functions above, always in plain C: the accelerated ones must
/// agree with them, and tests compare the two on a processor that has both.
void vk_half_from_float_portable(const float *source, uint16_t *destination, size_t count);
void vk_dot_half_rows_portable(const uint16_t *rows, size_t rowCount, size_t dimensions, const float *query,
                               float *scores);

/// One half-precision value widened to single precision (exact).
float vk_float_from_half(uint16_t half);

#endif
