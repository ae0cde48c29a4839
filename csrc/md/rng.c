/* rng.c -- counter-based random numbers for the integrators: Philox4x32-10 (Salmon, Moraes,
 * Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11, Fig. 2 and Table 2:
 * multipliers 0xD2511F53, 0xCD9E8D57, Weyl key increments 0x9E3779B9, 0xBB67AE85, 10 rounds).
 *
 * Why counter based: the normal deviate for (seed, stream, step, atom) is a pure function of
 * those numbers, so results do not depend on the thread count or on how work is split, and the
 * whole generator state to save for a restart is (seed, step).
 *
 * Normals come from Box-Muller on two 53-bit uniforms made from one 128-bit block (the uniform
 * is in (0, 1], so log() never sees 0).
 */
#include "md_internal.h"

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

void md_philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint32_t hi0, lo0, hi1, lo1;
        mulhilo(0xD2511F53u, c0, &hi0, &lo0);
        mulhilo(0xCD9E8D57u, c2, &hi1, &lo1);
        uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void md_gauss2(uint64_t seed, uint32_t stream, uint64_t a, uint32_t b, double *g0, double *g1)
{
    uint32_t ctr[4] = {(uint32_t)a, (uint32_t)(a >> 32), b, stream};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t o[4];
    md_philox(ctr, key, o);
    uint64_t u0 = ((uint64_t)o[0] << 21) ^ (o[1] >> 11), u1 = ((uint64_t)o[2] << 21) ^ (o[3] >> 11);
    double x0 = ((double)(u0 & ((1ull << 53) - 1)) + 1.0) * (1.0 / 9007199254740992.0);   /* (0, 1] */
    double x1 = (double)(u1 & ((1ull << 53) - 1)) * (1.0 / 9007199254740992.0);           /* [0, 1) */
    double r = sqrt(-2.0 * log(x0));
    double t = 2.0 * M_PI * x1;
    *g0 = r * cos(t);
    *g1 = r * sin(t);
}
