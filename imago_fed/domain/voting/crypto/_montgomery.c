/*
 * Optional accelerator for groups.py: the same squaring chains, sliding
 * windows and comb tables, with Montgomery multiplication on GMP's mpn
 * layer and no interpreter between two products.
 *
 * Why: a 2048-bit modular product from Python costs about 1.4 us, two
 * thirds of it GMP's division; mpn_mul_n / mpn_sqr followed by a Montgomery
 * reduction (one mpn_addmul_1 per limb, GMP's assembly) costs about 0.8 us,
 * and a squaring chain or a window loop no longer goes through the
 * interpreter at each step. Only public GMP functions are used.
 *
 * Where the processor has AVX-512 IFMA (52-bit multiply-add on eight
 * lanes) and the modulus has at most 2078 bits, a product is instead one
 * "almost Montgomery" multiplication on forty 52-bit digits held in five
 * vector registers (Gueron and Krasnov's layout, as OpenSSL's RSA code
 * uses): about 0.4 us for 2048 bits against 0.8 us on the mpn layer.
 * Values then stay below 2p (4p < R = 2^2080 keeps them there) and are
 * reduced once, when handed back. The processor is asked at run time;
 * ``Field(modulus, simd=False)`` keeps the mpn path (the tests run both).
 *
 * Elements cross the boundary as little-endian bytes (the caller converts
 * its gmpy2 numbers), exponents as non-negative little-endian bytes.
 * Everything inside is in Montgomery form (x R mod p); every result handed
 * back is canonical (below p). groups.py keeps the pure-Python path, and
 * the tests compare the paths with each other and with powmod.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <gmp.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_IFMA_CODE 1
#else
#define HAVE_IFMA_CODE 0
#endif

#if GMP_LIMB_BITS != 64 || !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "written for 64-bit limbs on a little-endian machine: the pure-Python path serves elsewhere"
#endif

/* ------------------------------------------------------------ the field */
typedef struct {
    PyObject_HEAD
    mp_size_t n;      /* limbs of p */
    mp_size_t w;      /* words of an element inside: n limbs, or DIGITS 52-bit digits */
    int ifma;         /* the AVX-512 IFMA path */
    mp_limb_t *p;     /* the modulus, odd, n limbs */
    mp_limb_t ninv;   /* -1/p mod 2^64 (mpn path) */
    uint64_t k0;      /* -1/p mod 2^52 (IFMA path) */
    mp_limb_t *p52;   /* the modulus in 52-bit digits (IFMA path) */
    mp_limb_t *r2;    /* R^2 mod p, inside form */
    mp_limb_t *one;   /* R mod p: 1 in Montgomery form */
    mp_limb_t *unit;  /* the number 1, inside form (to leave Montgomery form) */
    mp_limb_t *scratch; /* 2w limbs */
} FieldObject;

/* t (2n limbs, destroyed) / R mod p into r (n limbs), canonical. */
static void redc(const FieldObject *f, mp_limb_t *r, mp_limb_t *t)
{
    mp_size_t n = f->n, j;
    for (j = 0; j < n; j++) {
        mp_limb_t q = t[j] * f->ninv;
        t[j] = mpn_addmul_1(t + j, f->p, n, q);
    }
    /* the carries of the rows, t[0..n), belong at t[n..2n) */
    if (mpn_add_n(r, t + n, t, n) || mpn_cmp(r, f->p, n) >= 0)
        mpn_sub_n(r, r, f->p, n);
}

#define DIGITS 40
#define MASK52 ((UINT64_C(1) << 52) - 1)

#if HAVE_IFMA_CODE
/*
 * r = a b / 2^2080 mod p, below 2p for a, b below 2p (p below 2^2078):
 * word-by-word Montgomery on 52-bit digits, eight digits a register. Each
 * round adds the low halves of a b_i and of p y (y chosen so that the
 * lowest digit becomes 0 mod 2^52), drops that digit (its carry moves
 * up), then adds the high halves one digit lower. A digit receives at
 * most four terms below 2^52 a round for 40 rounds: below 2^60, no
 * overflow; one scalar pass at the end brings every digit below 2^52.
 * r may alias a or b (b's digits are read before r is written).
 */
__attribute__((target("avx512f,avx512ifma")))
static void amm52(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m, uint64_t k0)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i a0 = _mm512_loadu_si512(a), a1 = _mm512_loadu_si512(a + 8),
            a2 = _mm512_loadu_si512(a + 16), a3 = _mm512_loadu_si512(a + 24),
            a4 = _mm512_loadu_si512(a + 32);
    __m512i m0 = _mm512_loadu_si512(m), m1 = _mm512_loadu_si512(m + 8),
            m2 = _mm512_loadu_si512(m + 16), m3 = _mm512_loadu_si512(m + 24),
            m4 = _mm512_loadu_si512(m + 32);
    __m512i r0 = zero, r1 = zero, r2 = zero, r3 = zero, r4 = zero;
    uint64_t t[DIGITS], carry = 0, low = m[0];
    int i, k;
    for (i = 0; i < DIGITS; i++) {
        __m512i bi = _mm512_set1_epi64((long long)b[i]), yy;
        uint64_t x, y, up;
        r0 = _mm512_madd52lo_epu64(r0, a0, bi);
        r1 = _mm512_madd52lo_epu64(r1, a1, bi);
        r2 = _mm512_madd52lo_epu64(r2, a2, bi);
        r3 = _mm512_madd52lo_epu64(r3, a3, bi);
        r4 = _mm512_madd52lo_epu64(r4, a4, bi);
        x = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(r0));
        y = (x * k0) & MASK52;
        up = (x + ((y * low) & MASK52)) >> 52; /* the dropped digit's carry */
        yy = _mm512_set1_epi64((long long)y);
        r0 = _mm512_madd52lo_epu64(r0, m0, yy);
        r1 = _mm512_madd52lo_epu64(r1, m1, yy);
        r2 = _mm512_madd52lo_epu64(r2, m2, yy);
        r3 = _mm512_madd52lo_epu64(r3, m3, yy);
        r4 = _mm512_madd52lo_epu64(r4, m4, yy);
        r0 = _mm512_alignr_epi64(r1, r0, 1);
        r1 = _mm512_alignr_epi64(r2, r1, 1);
        r2 = _mm512_alignr_epi64(r3, r2, 1);
        r3 = _mm512_alignr_epi64(r4, r3, 1);
        r4 = _mm512_alignr_epi64(zero, r4, 1);
        r0 = _mm512_mask_add_epi64(r0, 1, r0, _mm512_set1_epi64((long long)up));
        r0 = _mm512_madd52hi_epu64(r0, a0, bi);
        r1 = _mm512_madd52hi_epu64(r1, a1, bi);
        r2 = _mm512_madd52hi_epu64(r2, a2, bi);
        r3 = _mm512_madd52hi_epu64(r3, a3, bi);
        r4 = _mm512_madd52hi_epu64(r4, a4, bi);
        r0 = _mm512_madd52hi_epu64(r0, m0, yy);
        r1 = _mm512_madd52hi_epu64(r1, m1, yy);
        r2 = _mm512_madd52hi_epu64(r2, m2, yy);
        r3 = _mm512_madd52hi_epu64(r3, m3, yy);
        r4 = _mm512_madd52hi_epu64(r4, m4, yy);
    }
    _mm512_storeu_si512(t, r0);
    _mm512_storeu_si512(t + 8, r1);
    _mm512_storeu_si512(t + 16, r2);
    _mm512_storeu_si512(t + 24, r3);
    _mm512_storeu_si512(t + 32, r4);
    for (k = 0; k < DIGITS; k++) {
        uint64_t v = t[k] + carry;
        r[k] = v & MASK52;
        carry = v >> 52;
    }
}

/*
 * Two independent products in one loop: amm52 waits on its own latency
 * (digit -> y -> next digit) about two thirds of the time; interleaving a
 * second product fills those cycles (0.53 us for the two instead of 0.85).
 * Same arithmetic as amm52, lane by lane; outputs may alias their inputs.
 */
__attribute__((target("avx512f,avx512ifma")))
static void amm52x2(uint64_t *r, const uint64_t *a, const uint64_t *b, uint64_t *s,
                    const uint64_t *c, const uint64_t *d, const uint64_t *m, uint64_t k0)
{
    const __m512i zero = _mm512_setzero_si512();
    __m512i a0 = _mm512_loadu_si512(a), a1 = _mm512_loadu_si512(a + 8),
            a2 = _mm512_loadu_si512(a + 16), a3 = _mm512_loadu_si512(a + 24),
            a4 = _mm512_loadu_si512(a + 32);
    __m512i c0 = _mm512_loadu_si512(c), c1 = _mm512_loadu_si512(c + 8),
            c2 = _mm512_loadu_si512(c + 16), c3 = _mm512_loadu_si512(c + 24),
            c4 = _mm512_loadu_si512(c + 32);
    __m512i m0 = _mm512_loadu_si512(m), m1 = _mm512_loadu_si512(m + 8),
            m2 = _mm512_loadu_si512(m + 16), m3 = _mm512_loadu_si512(m + 24),
            m4 = _mm512_loadu_si512(m + 32);
    __m512i r0 = zero, r1 = zero, r2 = zero, r3 = zero, r4 = zero;
    __m512i s0 = zero, s1 = zero, s2 = zero, s3 = zero, s4 = zero;
    uint64_t t[DIGITS], u[DIGITS], carry = 0, carry2 = 0, low = m[0];
    int i, k;
    for (i = 0; i < DIGITS; i++) {
        __m512i bi = _mm512_set1_epi64((long long)b[i]), di = _mm512_set1_epi64((long long)d[i]);
        __m512i yy, zz;
        uint64_t x, y, up, x2, z, up2;
        r0 = _mm512_madd52lo_epu64(r0, a0, bi);
        s0 = _mm512_madd52lo_epu64(s0, c0, di);
        r1 = _mm512_madd52lo_epu64(r1, a1, bi);
        s1 = _mm512_madd52lo_epu64(s1, c1, di);
        r2 = _mm512_madd52lo_epu64(r2, a2, bi);
        s2 = _mm512_madd52lo_epu64(s2, c2, di);
        r3 = _mm512_madd52lo_epu64(r3, a3, bi);
        s3 = _mm512_madd52lo_epu64(s3, c3, di);
        r4 = _mm512_madd52lo_epu64(r4, a4, bi);
        s4 = _mm512_madd52lo_epu64(s4, c4, di);
        x = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(r0));
        x2 = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(s0));
        y = (x * k0) & MASK52;
        z = (x2 * k0) & MASK52;
        up = (x + ((y * low) & MASK52)) >> 52;
        up2 = (x2 + ((z * low) & MASK52)) >> 52;
        yy = _mm512_set1_epi64((long long)y);
        zz = _mm512_set1_epi64((long long)z);
        r0 = _mm512_madd52lo_epu64(r0, m0, yy);
        s0 = _mm512_madd52lo_epu64(s0, m0, zz);
        r1 = _mm512_madd52lo_epu64(r1, m1, yy);
        s1 = _mm512_madd52lo_epu64(s1, m1, zz);
        r2 = _mm512_madd52lo_epu64(r2, m2, yy);
        s2 = _mm512_madd52lo_epu64(s2, m2, zz);
        r3 = _mm512_madd52lo_epu64(r3, m3, yy);
        s3 = _mm512_madd52lo_epu64(s3, m3, zz);
        r4 = _mm512_madd52lo_epu64(r4, m4, yy);
        s4 = _mm512_madd52lo_epu64(s4, m4, zz);
        r0 = _mm512_alignr_epi64(r1, r0, 1);
        s0 = _mm512_alignr_epi64(s1, s0, 1);
        r1 = _mm512_alignr_epi64(r2, r1, 1);
        s1 = _mm512_alignr_epi64(s2, s1, 1);
        r2 = _mm512_alignr_epi64(r3, r2, 1);
        s2 = _mm512_alignr_epi64(s3, s2, 1);
        r3 = _mm512_alignr_epi64(r4, r3, 1);
        s3 = _mm512_alignr_epi64(s4, s3, 1);
        r4 = _mm512_alignr_epi64(zero, r4, 1);
        s4 = _mm512_alignr_epi64(zero, s4, 1);
        r0 = _mm512_mask_add_epi64(r0, 1, r0, _mm512_set1_epi64((long long)up));
        s0 = _mm512_mask_add_epi64(s0, 1, s0, _mm512_set1_epi64((long long)up2));
        r0 = _mm512_madd52hi_epu64(r0, a0, bi);
        s0 = _mm512_madd52hi_epu64(s0, c0, di);
        r1 = _mm512_madd52hi_epu64(r1, a1, bi);
        s1 = _mm512_madd52hi_epu64(s1, c1, di);
        r2 = _mm512_madd52hi_epu64(r2, a2, bi);
        s2 = _mm512_madd52hi_epu64(s2, c2, di);
        r3 = _mm512_madd52hi_epu64(r3, a3, bi);
        s3 = _mm512_madd52hi_epu64(s3, c3, di);
        r4 = _mm512_madd52hi_epu64(r4, a4, bi);
        s4 = _mm512_madd52hi_epu64(s4, c4, di);
        r0 = _mm512_madd52hi_epu64(r0, m0, yy);
        s0 = _mm512_madd52hi_epu64(s0, m0, zz);
        r1 = _mm512_madd52hi_epu64(r1, m1, yy);
        s1 = _mm512_madd52hi_epu64(s1, m1, zz);
        r2 = _mm512_madd52hi_epu64(r2, m2, yy);
        s2 = _mm512_madd52hi_epu64(s2, m2, zz);
        r3 = _mm512_madd52hi_epu64(r3, m3, yy);
        s3 = _mm512_madd52hi_epu64(s3, m3, zz);
        r4 = _mm512_madd52hi_epu64(r4, m4, yy);
        s4 = _mm512_madd52hi_epu64(s4, m4, zz);
    }
    _mm512_storeu_si512(t, r0);
    _mm512_storeu_si512(t + 8, r1);
    _mm512_storeu_si512(t + 16, r2);
    _mm512_storeu_si512(t + 24, r3);
    _mm512_storeu_si512(t + 32, r4);
    _mm512_storeu_si512(u, s0);
    _mm512_storeu_si512(u + 8, s1);
    _mm512_storeu_si512(u + 16, s2);
    _mm512_storeu_si512(u + 24, s3);
    _mm512_storeu_si512(u + 32, s4);
    for (k = 0; k < DIGITS; k++) {
        uint64_t v = t[k] + carry, v2 = u[k] + carry2;
        r[k] = v & MASK52;
        carry = v >> 52;
        s[k] = v2 & MASK52;
        carry2 = v2 >> 52;
    }
}

static int cpu_has_ifma(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}
#else
static void amm52(uint64_t *r, const uint64_t *a, const uint64_t *b, const uint64_t *m, uint64_t k0)
{
    (void)r, (void)a, (void)b, (void)m, (void)k0;
}

static void amm52x2(uint64_t *r, const uint64_t *a, const uint64_t *b, uint64_t *s,
                    const uint64_t *c, const uint64_t *d, const uint64_t *m, uint64_t k0)
{
    (void)r, (void)a, (void)b, (void)s, (void)c, (void)d, (void)m, (void)k0;
}

static int cpu_has_ifma(void)
{
    return 0;
}
#endif

/* n limbs -> DIGITS digits of 52 bits (the value below 2^2080) */
static void limbs_to_digits(uint64_t *d, const mp_limb_t *x, mp_size_t n)
{
    int k;
    for (k = 0; k < DIGITS; k++) {
        size_t bit = (size_t)k * 52, limb = bit / 64, shift = bit % 64;
        uint64_t v = 0;
        if ((mp_size_t)limb < n)
            v = x[limb] >> shift;
        if (shift > 12 && (mp_size_t)(limb + 1) < n)
            v |= x[limb + 1] << (64 - shift);
        d[k] = v & MASK52;
    }
}

/* DIGITS normalised digits -> n limbs (the value must fit n limbs) */
static void digits_to_limbs(mp_limb_t *x, const uint64_t *d, mp_size_t n)
{
    int k;
    memset(x, 0, n * sizeof(mp_limb_t));
    for (k = 0; k < DIGITS; k++) {
        size_t bit = (size_t)k * 52, limb = bit / 64, shift = bit % 64;
        if ((mp_size_t)limb < n)
            x[limb] |= d[k] << shift;
        if (shift > 12 && (mp_size_t)(limb + 1) < n)
            x[limb + 1] |= d[k] >> (64 - shift);
    }
}

/* r = a b / R mod p; r may alias a or b. mpn path: canonical; IFMA: below 2p. */
static void mont_mul(FieldObject *f, mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b)
{
    if (f->ifma) {
        amm52(r, a, b, f->p52, f->k0);
        return;
    }
    if (a == b)
        mpn_sqr(f->scratch, a, f->n);
    else
        mpn_mul_n(f->scratch, a, b, f->n);
    redc(f, r, f->scratch);
}

/* r = a b / R and s = c d / R, interleaved on the IFMA path */
static void mont_mul2(FieldObject *f, mp_limb_t *r, const mp_limb_t *a, const mp_limb_t *b,
                      mp_limb_t *s, const mp_limb_t *c, const mp_limb_t *d)
{
    if (f->ifma) {
        amm52x2(r, a, b, s, c, d, f->p52, f->k0);
        return;
    }
    mont_mul(f, r, a, b);
    mont_mul(f, s, c, d);
}

/* x (n limbs, below p) into Montgomery form (w words) */
static void to_mont(FieldObject *f, mp_limb_t *r, const mp_limb_t *x)
{
    if (f->ifma) {
        uint64_t d[DIGITS];
        limbs_to_digits(d, x, f->n);
        amm52(r, d, f->r2, f->p52, f->k0);
        return;
    }
    mont_mul(f, r, x, f->r2);
}

/* Montgomery form (w words) -> canonical n limbs */
static void from_mont(FieldObject *f, mp_limb_t *r, const mp_limb_t *x)
{
    mp_size_t n = f->n;
    if (f->ifma) {
        uint64_t d[DIGITS];
        amm52(d, x, f->unit, f->p52, f->k0); /* (x + m p) / R <= p */
        digits_to_limbs(r, d, n);
        if (mpn_cmp(r, f->p, n) >= 0)
            mpn_sub_n(r, r, f->p, n);
        return;
    }
    memcpy(f->scratch, x, n * sizeof(mp_limb_t));
    memset(f->scratch + n, 0, n * sizeof(mp_limb_t));
    redc(f, r, f->scratch);
}

/* bytes (little-endian, at most 8n bytes, value below p) -> n limbs */
static int element_from(FieldObject *f, PyObject *obj, mp_limb_t *out)
{
    char *buf;
    Py_ssize_t len;
    if (PyBytes_AsStringAndSize(obj, &buf, &len) < 0)
        return -1;
    if (len > (Py_ssize_t)(f->n * sizeof(mp_limb_t))) {
        PyErr_SetString(PyExc_ValueError, "element longer than the modulus");
        return -1;
    }
    memset(out, 0, f->n * sizeof(mp_limb_t));
    memcpy(out, buf, (size_t)len); /* little-endian host: limbs in order */
    if (mpn_cmp(out, f->p, f->n) >= 0) {
        PyErr_SetString(PyExc_ValueError, "element not below the modulus");
        return -1;
    }
    return 0;
}

static PyObject *element_to(FieldObject *f, const mp_limb_t *mont)
{
    PyObject *out = PyBytes_FromStringAndSize(NULL, f->n * sizeof(mp_limb_t));
    if (out == NULL)
        return NULL;
    from_mont(f, (mp_limb_t *)PyBytes_AS_STRING(out), mont);
    return out;
}

/* exponent bytes -> limbs (caller frees), its bit length in *bits */
static mp_limb_t *exponent_from(PyObject *obj, mp_size_t *limbs, size_t *bits)
{
    char *buf;
    Py_ssize_t len;
    mp_size_t k;
    mp_limb_t *e;
    if (PyBytes_AsStringAndSize(obj, &buf, &len) < 0)
        return NULL;
    k = (len + 7) / 8;
    e = PyMem_Calloc(k + 1, sizeof(mp_limb_t));
    if (e == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(e, buf, (size_t)len);
    while (k > 0 && e[k - 1] == 0)
        k--;
    *limbs = k;
    *bits = k ? mpn_sizeinbase(e, k, 2) : 0;
    return e;
}

static int bit_of(const mp_limb_t *e, size_t i, size_t bits)
{
    if (i >= bits)
        return 0;
    return (int)((e[i / 64] >> (i % 64)) & 1);
}

static void field_dealloc(FieldObject *self)
{
    PyMem_Free(self->p);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int field_init(FieldObject *self, PyObject *args, PyObject *kwds)
{
    PyObject *modulus;
    char *buf;
    Py_ssize_t len;
    mp_size_t n, w;
    mpz_t m, r;
    mp_limb_t inv;
    int k, simd = 1;
    static char *kwlist[] = {"modulus", "simd", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "S|p", kwlist, &modulus, &simd))
        return -1;
    if (self->p != NULL) {
        PyErr_SetString(PyExc_TypeError, "Field is initialised once");
        return -1;
    }
    if (PyBytes_AsStringAndSize(modulus, &buf, &len) < 0)
        return -1;
    while (len > 0 && buf[len - 1] == 0)
        len--;
    n = (len + 7) / 8;
    if (n < 1 || !(buf[0] & 1) || (len == 1 && buf[0] == 1)) {
        PyErr_SetString(PyExc_ValueError, "the modulus must be odd and above 1");
        return -1;
    }
    self->n = n;
    mpz_init(m);
    mpz_import(m, (size_t)len, -1, 1, 0, 0, buf);
    /* 4p < 2^2080 keeps the almost-reduced values below 2p */
    self->ifma = simd && mpz_sizeinbase(m, 2) <= 52 * DIGITS - 2 && cpu_has_ifma();
    w = self->ifma ? DIGITS : n;
    self->w = w;
    /* p (n), p52 (DIGITS), r2, one, unit (w each), scratch (2w) */
    self->p = PyMem_Calloc((size_t)(n + DIGITS + 5 * w), sizeof(mp_limb_t));
    if (self->p == NULL) {
        mpz_clear(m);
        PyErr_NoMemory();
        return -1;
    }
    self->p52 = self->p + n;
    self->r2 = self->p52 + DIGITS;
    self->one = self->r2 + w;
    self->unit = self->one + w;
    self->scratch = self->unit + w;
    memcpy(self->p, buf, (size_t)len);
    inv = 1; /* Newton: 1/p mod 2^64, 6 steps double 1 correct bit to 64 */
    for (k = 0; k < 6; k++)
        inv *= 2 - self->p[0] * inv;
    self->ninv = -inv;
    self->k0 = self->ninv & MASK52;
    mpz_init(r);
    /* R = 2^(52 DIGITS) on the IFMA path, 2^(64 n) on the mpn path */
    mpz_setbit(r, (mp_bitcnt_t)(self->ifma ? 52 * DIGITS : 64 * n));
    mpz_mod(r, r, m);
    {
        mp_limb_t one[n], r2[n];
        memset(one, 0, n * sizeof(mp_limb_t));
        memset(r2, 0, n * sizeof(mp_limb_t));
        mpz_export(one, NULL, -1, sizeof(mp_limb_t), 0, 0, r);
        mpz_mul(r, r, r);
        mpz_mod(r, r, m);
        mpz_export(r2, NULL, -1, sizeof(mp_limb_t), 0, 0, r);
        if (self->ifma) {
            limbs_to_digits(self->p52, self->p, n);
            limbs_to_digits(self->one, one, n);
            limbs_to_digits(self->r2, r2, n);
            self->unit[0] = 1;
        } else {
            memcpy(self->one, one, n * sizeof(mp_limb_t));
            memcpy(self->r2, r2, n * sizeof(mp_limb_t));
        }
    }
    mpz_clear(m);
    mpz_clear(r);
    return 0;
}

static PyObject *field_get_kind(FieldObject *self, void *closure)
{
    (void)closure;
    return PyUnicode_FromString(self->ifma ? "avx512ifma" : "mpn");
}

/* --------------------------------------------------------------- chains */
typedef struct ChainObject {
    PyObject_HEAD
    FieldObject *field;
    Py_ssize_t length;     /* entries x^(2^i), i < length */
    mp_limb_t *entries;    /* length * n limbs, Montgomery form */
    unsigned char *known;  /* product chains: entry computed yet */
    PyObject *parts;       /* tuple of ChainObject, or NULL */
} ChainObject;

static PyTypeObject ChainType;

static const mp_limb_t *chain_entry(ChainObject *c, Py_ssize_t i)
{
    mp_size_t n = c->field->w;
    mp_limb_t *slot = c->entries + i * n;
    if (c->known != NULL && !c->known[i]) {
        Py_ssize_t k, count = PyTuple_GET_SIZE(c->parts);
        memcpy(slot, chain_entry((ChainObject *)PyTuple_GET_ITEM(c->parts, 0), i),
               n * sizeof(mp_limb_t));
        for (k = 1; k < count; k++)
            mont_mul(c->field, slot, slot,
                     chain_entry((ChainObject *)PyTuple_GET_ITEM(c->parts, k), i));
        c->known[i] = 1;
    }
    return slot;
}

static ChainObject *chain_alloc(FieldObject *f, Py_ssize_t length)
{
    ChainObject *c = PyObject_New(ChainObject, &ChainType);
    if (c == NULL)
        return NULL;
    c->field = f;
    Py_INCREF(f);
    c->length = length;
    c->known = NULL;
    c->parts = NULL;
    c->entries = PyMem_Malloc((size_t)length * f->w * sizeof(mp_limb_t));
    if (c->entries == NULL) {
        Py_DECREF(c);
        PyErr_NoMemory();
        return NULL;
    }
    return c;
}

static void chain_dealloc(ChainObject *self)
{
    PyMem_Free(self->entries);
    PyMem_Free(self->known);
    Py_XDECREF(self->parts);
    Py_XDECREF(self->field);
    PyObject_Free(self);
}

/* Field.chain(x, length): x^(2^i) for i < length (length - 1 squarings). */
static PyObject *field_chain(FieldObject *self, PyObject *args)
{
    PyObject *x;
    Py_ssize_t length, i;
    mp_size_t n = self->w;
    ChainObject *c;
    if (!PyArg_ParseTuple(args, "Sn", &x, &length))
        return NULL;
    if (length < 1) {
        PyErr_SetString(PyExc_ValueError, "a chain has at least one entry");
        return NULL;
    }
    c = chain_alloc(self, length);
    if (c == NULL)
        return NULL;
    if (element_from(self, x, c->entries) < 0) {
        Py_DECREF(c);
        return NULL;
    }
    to_mont(self, c->entries, c->entries);
    for (i = 1; i < length; i++)
        mont_mul(self, c->entries + i * n, c->entries + (i - 1) * n, c->entries + (i - 1) * n);
    return (PyObject *)c;
}

/* Field.chain_pair(x, y, length): two chains, their squarings interleaved. */
static PyObject *field_chain_pair(FieldObject *self, PyObject *args)
{
    PyObject *x, *y;
    Py_ssize_t length, i;
    mp_size_t n = self->w;
    ChainObject *c, *d;
    if (!PyArg_ParseTuple(args, "SSn", &x, &y, &length))
        return NULL;
    if (length < 1) {
        PyErr_SetString(PyExc_ValueError, "a chain has at least one entry");
        return NULL;
    }
    c = chain_alloc(self, length);
    if (c == NULL)
        return NULL;
    d = chain_alloc(self, length);
    if (d == NULL) {
        Py_DECREF(c);
        return NULL;
    }
    if (element_from(self, x, c->entries) < 0 || element_from(self, y, d->entries) < 0) {
        Py_DECREF(c);
        Py_DECREF(d);
        return NULL;
    }
    to_mont(self, c->entries, c->entries);
    to_mont(self, d->entries, d->entries);
    for (i = 1; i < length; i++) {
        const mp_limb_t *cx = c->entries + (i - 1) * n, *dx = d->entries + (i - 1) * n;
        mont_mul2(self, c->entries + i * n, cx, cx, d->entries + i * n, dx, dx);
    }
    return Py_BuildValue("(NN)", (PyObject *)c, (PyObject *)d);
}

/* Field.product_chain(parts): the chain of the product, entries made on demand. */
static PyObject *field_product_chain(FieldObject *self, PyObject *args)
{
    PyObject *parts;
    Py_ssize_t k, count, length;
    ChainObject *c;
    if (!PyArg_ParseTuple(args, "O!", &PyTuple_Type, &parts))
        return NULL;
    count = PyTuple_GET_SIZE(parts);
    if (count < 1) {
        PyErr_SetString(PyExc_ValueError, "a product chain needs a part");
        return NULL;
    }
    length = -1;
    for (k = 0; k < count; k++) {
        PyObject *part = PyTuple_GET_ITEM(parts, k);
        if (!PyObject_TypeCheck(part, &ChainType) || ((ChainObject *)part)->field != self) {
            PyErr_SetString(PyExc_TypeError, "parts are chains of this field");
            return NULL;
        }
        if (length < 0 || ((ChainObject *)part)->length < length)
            length = ((ChainObject *)part)->length;
    }
    c = chain_alloc(self, length);
    if (c == NULL)
        return NULL;
    c->known = PyMem_Calloc((size_t)length, 1);
    if (c->known == NULL) {
        Py_DECREF(c);
        return PyErr_NoMemory();
    }
    Py_INCREF(parts);
    c->parts = parts;
    return (PyObject *)c;
}

/* r[l] = a[l] b[l] / R for each of `lanes` (1 or 2) products */
static void mul_lanes(FieldObject *f, int lanes, mp_limb_t **r, mp_limb_t **a, mp_limb_t **b)
{
    if (lanes == 2)
        mont_mul2(f, r[0], a[0], b[0], r[1], a[1], b[1]);
    else
        mont_mul(f, r[0], a[0], b[0]);
}

/*
 * prod_k B_k^(2k+1) = (prod B_k) (prod_k B_k^k)^2, the running product
 * from k = 7 down to 1, as groups._odd_buckets; buckets in Montgomery form.
 * `lanes` bucket sets with the same digits used (one exponent, two bases).
 */
static void odd_buckets(FieldObject *f, int lanes, mp_limb_t **out, mp_limb_t **buckets,
                        const int *used)
{
    mp_size_t n = f->w;
    mp_limb_t runs[2 * n], accs[2 * n];
    mp_limb_t *run[2] = {runs, runs + n}, *acc[2] = {accs, accs + n}, *b[2];
    int have_run = 0, have_acc = 0, k, l;
    for (k = 7; k >= 0; k--) {
        if (used[k]) {
            for (l = 0; l < lanes; l++)
                b[l] = buckets[l] + k * n;
            if (have_run)
                mul_lanes(f, lanes, run, run, b);
            else
                for (l = 0; l < lanes; l++)
                    memcpy(run[l], b[l], n * sizeof(mp_limb_t));
            have_run = 1;
        }
        if (k >= 1 && have_run) {
            if (have_acc)
                mul_lanes(f, lanes, acc, acc, run);
            else
                for (l = 0; l < lanes; l++)
                    memcpy(acc[l], run[l], n * sizeof(mp_limb_t));
            have_acc = 1;
        }
    }
    for (l = 0; l < lanes; l++) {
        if (!have_run)
            memcpy(out[l], f->one, n * sizeof(mp_limb_t));
        else if (!have_acc)
            memcpy(out[l], run[l], n * sizeof(mp_limb_t));
    }
    if (have_run && have_acc) {
        mul_lanes(f, lanes, acc, acc, acc);
        mul_lanes(f, lanes, out, acc, run);
    }
}

/*
 * x_l^e for each of `lanes` chains (one exponent): right-to-left sliding
 * windows of 4 bits, one product a window into one of eight buckets.
 * Returns a bytes object, or a tuple of two; NULL with an exception.
 */
static PyObject *chains_pow(ChainObject **chains, int lanes, PyObject *arg)
{
    FieldObject *f = chains[0]->field;
    mp_size_t n = f->w, limbs;
    size_t bits, i;
    mp_limb_t *e, *store, *buckets[2], *out[2], *x[2], *b[2];
    int used[8] = {0}, l;
    PyObject *first, *second;
    e = exponent_from(arg, &limbs, &bits);
    if (e == NULL)
        return NULL;
    for (l = 0; l < lanes; l++) {
        if (bits > (size_t)chains[l]->length) {
            PyMem_Free(e);
            PyErr_SetString(PyExc_ValueError, "exponent longer than the chain");
            return NULL;
        }
    }
    store = PyMem_Malloc(2 * 9 * n * sizeof(mp_limb_t));
    if (store == NULL) {
        PyMem_Free(e);
        return PyErr_NoMemory();
    }
    for (l = 0; l < 2; l++) {
        buckets[l] = store + l * 9 * n;
        out[l] = buckets[l] + 8 * n;
    }
    i = 0;
    while (i < bits) {
        if (!bit_of(e, i, bits)) {
            i++;
            continue;
        }
        {
            int k = (bit_of(e, i + 1, bits) | bit_of(e, i + 2, bits) << 1
                     | bit_of(e, i + 3, bits) << 2);
            for (l = 0; l < lanes; l++) {
                x[l] = (mp_limb_t *)chain_entry(chains[l], (Py_ssize_t)i);
                b[l] = buckets[l] + k * n;
            }
            if (used[k])
                mul_lanes(f, lanes, b, b, x);
            else
                for (l = 0; l < lanes; l++)
                    memcpy(b[l], x[l], n * sizeof(mp_limb_t));
            used[k] = 1;
        }
        i += 4;
    }
    odd_buckets(f, lanes, out, buckets, used);
    PyMem_Free(e);
    first = element_to(f, out[0]);
    if (first == NULL || lanes == 1) {
        PyMem_Free(store);
        return first;
    }
    second = element_to(f, out[1]);
    PyMem_Free(store);
    if (second == NULL) {
        Py_DECREF(first);
        return NULL;
    }
    return Py_BuildValue("(NN)", first, second);
}

/* Chain.pow(e): x^e for 0 <= e < 2^length. */
static PyObject *chain_pow(ChainObject *self, PyObject *arg)
{
    return chains_pow(&self, 1, arg);
}

/* Chain.pow_pair(other, e): (x^e, z^e), the two interleaved. */
static PyObject *chain_pow_pair(ChainObject *self, PyObject *args)
{
    ChainObject *chains[2];
    PyObject *other, *arg;
    if (!PyArg_ParseTuple(args, "O!S", &ChainType, &other, &arg))
        return NULL;
    if (((ChainObject *)other)->field != self->field) {
        PyErr_SetString(PyExc_ValueError, "chains of different fields");
        return NULL;
    }
    chains[0] = self;
    chains[1] = (ChainObject *)other;
    return chains_pow(chains, 2, arg);
}

static PyMethodDef chain_methods[] = {
    {"pow", (PyCFunction)chain_pow, METH_O,
     "x^e (e as little-endian bytes, below 2^length), as little-endian bytes."},
    {"pow_pair", (PyCFunction)chain_pow_pair, METH_VARARGS,
     "pow_pair(other, e): (x^e, z^e) for another chain z of this field."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ChainType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "imago_fed.domain.voting.crypto._montgomery.Chain",
    .tp_basicsize = sizeof(ChainObject),
    .tp_dealloc = (destructor)chain_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The squaring chain x^(2^i) of one base (or of a product of bases).",
    .tp_methods = chain_methods,
};

/* ---------------------------------------------------------------- combs */
typedef struct {
    PyObject_HEAD
    FieldObject *field;
    Py_ssize_t rows;
    int w;
    mp_limb_t *table; /* rows * 2^w * n limbs: x^(d 2^(w i)), Montgomery form */
} CombObject;

static PyTypeObject CombType;

static void comb_dealloc(CombObject *self)
{
    PyMem_Free(self->table);
    Py_XDECREF(self->field);
    PyObject_Free(self);
}

/* Field.comb(x, bits, w): the table for exponents below 2^bits. */
static PyObject *field_comb(FieldObject *self, PyObject *args)
{
    PyObject *x;
    Py_ssize_t bits, rows, r, d, width;
    int w;
    mp_size_t n = self->w;
    mp_limb_t base[n];
    CombObject *c;
    if (!PyArg_ParseTuple(args, "Sni", &x, &bits, &w))
        return NULL;
    if (bits < 1 || w < 1 || w > 16) {
        PyErr_SetString(PyExc_ValueError, "bits >= 1 and 1 <= w <= 16");
        return NULL;
    }
    if (element_from(self, x, base) < 0)
        return NULL;
    rows = (bits + w - 1) / w;
    width = (Py_ssize_t)1 << w;
    c = PyObject_New(CombObject, &CombType);
    if (c == NULL)
        return NULL;
    c->field = self;
    Py_INCREF(self);
    c->rows = rows;
    c->w = w;
    c->table = PyMem_Malloc((size_t)rows * width * n * sizeof(mp_limb_t));
    if (c->table == NULL) {
        Py_DECREF(c);
        return PyErr_NoMemory();
    }
    to_mont(self, base, base);
    for (r = 0; r < rows; r++) {
        mp_limb_t *row = c->table + r * width * n;
        memcpy(row, self->one, n * sizeof(mp_limb_t));
        memcpy(row + n, base, n * sizeof(mp_limb_t));
        for (d = 2; d < width; d++)
            mont_mul(self, row + d * n, row + (d - 1) * n, base);
        mont_mul(self, base, row + (width - 1) * n, base);
    }
    return (PyObject *)c;
}

/* digits of e, w bits each, one row each; 0 if the comb is too short */
static int comb_fits(CombObject *c, size_t bits)
{
    if (bits > (size_t)c->rows * (size_t)c->w) {
        PyErr_SetString(PyExc_ValueError, "exponent longer than the table");
        return 0;
    }
    return 1;
}

static Py_ssize_t digit_at(const mp_limb_t *e, size_t bits, Py_ssize_t row, int w)
{
    Py_ssize_t d = 0;
    int b;
    for (b = w - 1; b >= 0; b--)
        d = (d << 1) | bit_of(e, (size_t)row * w + b, bits);
    return d;
}

static PyObject *comb_pow(CombObject *self, PyObject *arg)
{
    FieldObject *f = self->field;
    mp_size_t n = f->w, limbs;
    size_t bits;
    Py_ssize_t r, width = (Py_ssize_t)1 << self->w;
    mp_limb_t acc[n];
    mp_limb_t *e = exponent_from(arg, &limbs, &bits);
    int have = 0;
    if (e == NULL)
        return NULL;
    if (!comb_fits(self, bits)) {
        PyMem_Free(e);
        return NULL;
    }
    for (r = 0; (size_t)(r * self->w) < bits; r++) {
        Py_ssize_t d = digit_at(e, bits, r, self->w);
        if (d) {
            const mp_limb_t *entry = self->table + (r * width + d) * n;
            if (have)
                mont_mul(f, acc, acc, entry);
            else
                memcpy(acc, entry, n * sizeof(mp_limb_t));
            have = 1;
        }
    }
    PyMem_Free(e);
    return element_to(f, have ? acc : f->one);
}

/* Comb.pow_pair(other, e): (x^e, z^e) for another comb of the same shape. */
static PyObject *comb_pow_pair(CombObject *self, PyObject *args)
{
    CombObject *other;
    PyObject *arg, *a_out, *b_out;
    FieldObject *f = self->field;
    mp_size_t n = f->w, limbs;
    size_t bits;
    Py_ssize_t r, width = (Py_ssize_t)1 << self->w;
    mp_limb_t a[n], b[n];
    mp_limb_t *e;
    int have = 0;
    if (!PyArg_ParseTuple(args, "O!S", &CombType, &other, &arg))
        return NULL;
    if (other->field != f || other->w != self->w || other->rows != self->rows) {
        PyErr_SetString(PyExc_ValueError, "combs of different shapes");
        return NULL;
    }
    e = exponent_from(arg, &limbs, &bits);
    if (e == NULL)
        return NULL;
    if (!comb_fits(self, bits)) {
        PyMem_Free(e);
        return NULL;
    }
    for (r = 0; (size_t)(r * self->w) < bits; r++) {
        Py_ssize_t d = digit_at(e, bits, r, self->w);
        if (d) {
            const mp_limb_t *x = self->table + (r * width + d) * n;
            const mp_limb_t *z = other->table + (r * width + d) * n;
            if (have) {
                mont_mul2(f, a, a, x, b, b, z);
            } else {
                memcpy(a, x, n * sizeof(mp_limb_t));
                memcpy(b, z, n * sizeof(mp_limb_t));
            }
            have = 1;
        }
    }
    PyMem_Free(e);
    a_out = element_to(f, have ? a : f->one);
    if (a_out == NULL)
        return NULL;
    b_out = element_to(f, have ? b : f->one);
    if (b_out == NULL) {
        Py_DECREF(a_out);
        return NULL;
    }
    return Py_BuildValue("(NN)", a_out, b_out);
}

static PyMethodDef comb_methods[] = {
    {"pow", (PyCFunction)comb_pow, METH_O, "x^e (little-endian bytes in and out)."},
    {"pow_pair", (PyCFunction)comb_pow_pair, METH_VARARGS,
     "(x^e, z^e) for another comb z of the same shape."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CombType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "imago_fed.domain.voting.crypto._montgomery.Comb",
    .tp_basicsize = sizeof(CombObject),
    .tp_dealloc = (destructor)comb_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A comb table x^(d 2^(w i)) of a fixed base.",
    .tp_methods = comb_methods,
};

/* --------------------------------------------------------------- module */
static PyObject *field_mul(FieldObject *self, PyObject *args)
{
    PyObject *x, *y;
    mp_size_t w = self->w;
    mp_limb_t a[w], b[w];
    if (!PyArg_ParseTuple(args, "SS", &x, &y))
        return NULL;
    if (element_from(self, x, a) < 0 || element_from(self, y, b) < 0)
        return NULL;
    to_mont(self, a, a);
    to_mont(self, b, b);
    mont_mul(self, a, a, b);
    return element_to(self, a);
}

static PyMethodDef field_methods[] = {
    {"chain", (PyCFunction)field_chain, METH_VARARGS,
     "chain(x, length): the squaring chain of x (little-endian bytes)."},
    {"chain_pair", (PyCFunction)field_chain_pair, METH_VARARGS,
     "chain_pair(x, y, length): the chains of x and of y, made together."},
    {"product_chain", (PyCFunction)field_product_chain, METH_VARARGS,
     "product_chain(parts): the chain of the product of chains (a tuple)."},
    {"comb", (PyCFunction)field_comb, METH_VARARGS,
     "comb(x, bits, w): a comb table of x for exponents below 2^bits."},
    {"mul", (PyCFunction)field_mul, METH_VARARGS, "mul(x, y): x y mod p (bytes in and out)."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef field_getset[] = {
    {"kind", (getter)field_get_kind, NULL,
     "\"avx512ifma\" or \"mpn\": how this field multiplies", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject FieldType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "imago_fed.domain.voting.crypto._montgomery.Field",
    .tp_basicsize = sizeof(FieldObject),
    .tp_dealloc = (destructor)field_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Field(modulus, simd=True): Montgomery arithmetic modulo an odd modulus (little-endian bytes).",
    .tp_methods = field_methods,
    .tp_getset = field_getset,
    .tp_init = (initproc)field_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_montgomery",
    .m_doc = "Montgomery multiplication over GMP's mpn layer for groups.py (optional).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__montgomery(void)
{
    PyObject *m;
    if (PyType_Ready(&FieldType) < 0 || PyType_Ready(&ChainType) < 0
        || PyType_Ready(&CombType) < 0)
        return NULL;
    m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&FieldType);
    if (PyModule_AddObject(m, "Field", (PyObject *)&FieldType) < 0) {
        Py_DECREF(&FieldType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
