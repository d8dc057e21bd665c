// AVX2 + FMA + F16C kernel bodies, shared by kernels_avx2.cpp and kernels_avx512.cpp (which uses
// them for what it does not do in 512-bit registers). Included inside each TU's own namespace, after
// kernels_portable.inl, and compiled with that TU's flags.
//
// Ternary dot products use vpmaddubsw (u8 codes × s8 activations → s16 pairs) and vpmaddwd to
// widen. Saturation is impossible: a pair is at most 2·3·128 = 768 in magnitude (codes up to 3,
// activations down to −128), and at most 32 such pairs (3072·8 = 24576 < 32767) are summed in a
// 16-bit lane before widening. Float epilogues keep exactly the scalar operation order (vectorized
// across activation rows at most), so the results are bit-identical to the generic kernels.

// ---- small helpers ----------------------------------------------------------------------------

static inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
static inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

static inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

static inline float hsum_f32(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

/** Four int32x8 vectors → their four horizontal sums (lane i = Σ v_i). */
static inline __m128i hsum4_i32(__m256i v0, __m256i v1, __m256i v2, __m256i v3) {
  const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(v0, v1), _mm256_hadd_epi32(v2, v3));
  return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

/**
 * The TQ block epilogue for RM activation rows at once: acc_i = fround(acc_i + fround(isum_i ·
 * fround(dw · da_i))), the exact scalar operations, one lane per activation row (RM = 4), or scalar.
 */
template <int RM>
static inline void tq_epilogue(const TernaryMatmulArgs& a, int64_t m, int64_t b, float dw, const __m256i* v, float* acc) {
  const int64_t nb = a.K / QK_K;
  if constexpr (RM == 4) {
    const int64_t k0 = m * nb + b;
    const __m128i isum = _mm_sub_epi32(hsum4_i32(v[0], v[1], v[2], v[3]),
                                       _mm_setr_epi32(a.sum[k0], a.sum[k0 + nb], a.sum[k0 + 2 * nb], a.sum[k0 + 3 * nb]));
    const __m128 da = _mm_setr_ps(a.scale[k0], a.scale[k0 + nb], a.scale[k0 + 2 * nb], a.scale[k0 + 3 * nb]);
    const __m128 dd = _mm_mul_ps(_mm_set1_ps(dw), da);
    _mm_storeu_ps(acc, _mm_add_ps(_mm_loadu_ps(acc), _mm_mul_ps(_mm_cvtepi32_ps(isum), dd)));
  } else {
    for (int i = 0; i < RM; ++i) {
      const int64_t blk = (m + i) * nb + b;
      acc[i] = tq_block_accumulate(acc[i], hsum_i32(v[i]) - a.sum[blk], dw, a.scale[blk]);
    }
  }
}

/** Eight int32x8 vectors → their eight horizontal sums (lane j = Σ v[j]). */
static inline __m256i hsum8_i32(const __m256i* v) {
  const __m256i u0 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i u1 = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  return _mm256_add_epi32(_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u0, u1, 0x31));
}

/**
 * The TQ epilogue of eight consecutive blocks b0..b0+7 of one weight row × one activation row m:
 * the products fround(isum_b · fround(dw_b · da_b)) eight at a time, then the sequential
 * acc = fround(acc + p_b) in block order — exactly the scalar arithmetic. `d_off` is the byte
 * offset of d in a block of `block_bytes` (the f16 is read as the high half of the 4 bytes ending
 * there, so the gather never reads past the block).
 */
static inline float tq_epilogue8(const TernaryMatmulArgs& a, const uint8_t* w, size_t block_bytes, size_t d_off, int64_t m, int64_t b0,
                                 const __m256i* v, float acc) {
  const int64_t nb = a.K / QK_K;
  const __m256i isum = _mm256_sub_epi32(hsum8_i32(v), _mm256_loadu_si256((const __m256i*)(a.sum + m * nb + b0)));
  const __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32((int)block_bytes));
  const __m256i g = _mm256_srli_epi32(_mm256_i32gather_epi32((const int*)(w + b0 * block_bytes + d_off - 2), idx, 1), 16);
  const __m128i h = _mm_packus_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1));
  const __m256 dd = _mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_loadu_ps(a.scale + m * nb + b0));
  alignas(32) float p[8];
  _mm256_store_ps(p, _mm256_mul_ps(_mm256_cvtepi32_ps(isum), dd));
  for (int j = 0; j < 8; ++j) acc = acc + p[j];
  return acc;
}

// Software prefetch distance along the weight stream. Kernels walk one weight row at a time (a
// single sequential stream per thread: measured faster than interleaving several short rows), and
// prefetch this far ahead of the current position, across row ends.
constexpr size_t PF = 8192;

// ---- I2_S × int8 -------------------------------------------------------------------------------------

/** RN consecutive weight rows from n × RM activation rows from m; all of K. */
template <int RN, int RM>
static inline void i2s_tile(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_I2S;
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w[RN];
  const int8_t* q[RM];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256i acc32[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc32[r][i] = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < nb; b0 += 8) {
    const int64_t b1 = b0 + 8 < nb ? b0 + 8 : nb;
    __m256i acc16[RN][RM];
    for (int r = 0; r < RN; ++r)
      for (int i = 0; i < RM; ++i) acc16[r][i] = _mm256_setzero_si256();
    for (int64_t b = b0; b < b1; ++b) {
      if ((b & 1) == 0)
        for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + b * 32 + PF), _MM_HINT_T0);
      for (int r = 0; r < RN; ++r) {
        const __m256i wv = load256(w[r] + b * 32);
        // value j of the block: code at shift 6 − 2·(j/32) of byte j % 32
        const __m256i f0 = _mm256_and_si256(_mm256_srli_epi16(wv, 6), m3);
        const __m256i f1 = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m3);
        const __m256i f2 = _mm256_and_si256(_mm256_srli_epi16(wv, 2), m3);
        const __m256i f3 = _mm256_and_si256(wv, m3);
        for (int i = 0; i < RM; ++i) {
          const int8_t* qb = q[i] + b * QK_I2S;
          __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(f0, load256(qb)), _mm256_maddubs_epi16(f1, load256(qb + 32)));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(f2, load256(qb + 64)));
          s = _mm256_add_epi16(s, _mm256_maddubs_epi16(f3, load256(qb + 96)));
          acc16[r][i] = _mm256_add_epi16(acc16[r][i], s);
        }
      }
    }
    for (int r = 0; r < RN; ++r)
      for (int i = 0; i < RM; ++i) acc32[r][i] = _mm256_add_epi32(acc32[r][i], _mm256_madd_epi16(acc16[r][i], ones));
  }
  for (int i = 0; i < RM; ++i) {
    const int64_t mi = m + i;
    for (int r = 0; r < RN; ++r) a.out[mi * a.N + n + r] = i2s_epilogue(hsum_i32(acc32[r][i]), a.sum[mi], a.scale[mi], a.wscale);
  }
}

/**
 * RN I2_S weight rows × one activation row (decode). The rows share each load of the activations,
 * and the four 2-bit fields are masked in place in two scale classes instead of being shifted down
 * one by one: with h = w >> 4 (16-bit shift), `h & 0x0C` = 4·code of q[0..32), `h & 0x03` = code
 * of q[32..64), `w & 0x0C` = 4·code of q[64..96), `w & 0x03` = code of q[96..128): one shift and
 * four ANDs per 128 values instead of three shifts and four ANDs. The ×4 class is summed apart
 * and divided by 4 (exact: every 16-bit lane of it is a multiple of 4) when widened. 16-bit sums:
 * a ×4-class pair is at most 2·12·128 = 3072 (stray code 3 included), two per block, so four
 * blocks (24576) fit before widening, and the ×1 class plus a quarter of the ×4 class fits too.
 */
template <int RN>
static inline void i2s_rows_x1(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_I2S;
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w[RN];
  for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  __m256i acc[RN];
  for (int r = 0; r < RN; ++r) acc[r] = _mm256_setzero_si256();
  for (int64_t b0 = 0; b0 < nb; b0 += 4) {
    const int64_t b1 = b0 + 4 < nb ? b0 + 4 : nb;
    __m256i s1[RN], s4[RN];
    for (int r = 0; r < RN; ++r) s1[r] = s4[r] = _mm256_setzero_si256();
    for (int64_t b = b0; b < b1; ++b) {
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + b * 32 + PF), _MM_HINT_T0);
      const int8_t* qb = q + b * QK_I2S;
      const __m256i q0 = load256(qb), q1 = load256(qb + 32), q2 = load256(qb + 64), q3 = load256(qb + 96);
      for (int r = 0; r < RN; ++r) {
        const __m256i v = load256(w[r] + b * 32), h = _mm256_srli_epi16(v, 4);
        s4[r] = _mm256_add_epi16(s4[r], _mm256_maddubs_epi16(_mm256_and_si256(h, m0c), q0));
        s1[r] = _mm256_add_epi16(s1[r], _mm256_maddubs_epi16(_mm256_and_si256(h, m03), q1));
        s4[r] = _mm256_add_epi16(s4[r], _mm256_maddubs_epi16(_mm256_and_si256(v, m0c), q2));
        s1[r] = _mm256_add_epi16(s1[r], _mm256_maddubs_epi16(_mm256_and_si256(v, m03), q3));
      }
    }
    for (int r = 0; r < RN; ++r)
      acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_add_epi16(s1[r], _mm256_srai_epi16(s4[r], 2)), ones));
  }
  for (int r = 0; r < RN; ++r) a.out[m * a.N + n + r] = i2s_epilogue(hsum_i32(acc[r]), a.sum[m], a.scale[m], a.wscale);
}

/** Prefetches the first PF bytes of a range about to be streamed (the loop prefetches PF ahead). */
static inline void prefetch_head(const uint8_t* p, size_t bytes) {
  const size_t n = bytes < PF ? bytes : PF;
  for (size_t off = 0; off < n; off += 64) _mm_prefetch((const char*)(p + off), _MM_HINT_T0);
}

static void matmul_i2s_i8(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    prefetch_head(a.w + n0 * a.row_bytes, (size_t)(n1 - n0) * a.row_bytes);
    // One row at a time: pairing rows shares activation loads (faster from cache) but makes two
    // streams per thread, which measured slower from memory.
    for (int64_t n = n0; n < n1; ++n) i2s_rows_x1<1>(a, n, 0);
    return;
  }
  // One weight row at a time; several activation rows share each decoded weight block.
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) i2s_tile<1, 4>(a, n, m);
    for (; m + 2 <= a.M; m += 2) i2s_tile<1, 2>(a, n, m);
    for (; m < a.M; ++m) i2s_tile<1, 1>(a, n, m);
  }
}

// ---- TQ2_0 × Q8_K --------------------------------------------------------------------------------------

/** One TQ2_0 weight row n × RM activation rows from m. The per-block float epilogue is the scalar
 *  one (tq_block_accumulate), so results are bit-identical to the reference. */
template <int RM>
static inline void tq2_row(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  alignas(16) float acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    __m256i s16[RM];
    for (int i = 0; i < RM; ++i) s16[i] = _mm256_setzero_si256();
    for (int c = 0; c < 2; ++c) {
      const __m256i wv = load256(wb + 32 * c);
      // value j + 32n + 128c: bits 2n of qs[32c + j]
      const __m256i f0 = _mm256_and_si256(wv, m3);
      const __m256i f1 = _mm256_and_si256(_mm256_srli_epi16(wv, 2), m3);
      const __m256i f2 = _mm256_and_si256(_mm256_srli_epi16(wv, 4), m3);
      const __m256i f3 = _mm256_and_si256(_mm256_srli_epi16(wv, 6), m3);
      for (int i = 0; i < RM; ++i) {
        const int8_t* qb = q[i] + b * QK_K + 128 * c;
        __m256i t = _mm256_add_epi16(_mm256_maddubs_epi16(f0, load256(qb)), _mm256_maddubs_epi16(f1, load256(qb + 32)));
        t = _mm256_add_epi16(t, _mm256_maddubs_epi16(f2, load256(qb + 64)));
        t = _mm256_add_epi16(t, _mm256_maddubs_epi16(f3, load256(qb + 96)));
        s16[i] = _mm256_add_epi16(s16[i], t);
      }
    }
    __m256i v[RM];
    for (int i = 0; i < RM; ++i) v[i] = _mm256_madd_epi16(s16[i], ones);
    tq_epilogue<RM>(a, m, b, _cvtsh_ss(load_u16(wb + 64)), v, acc);
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = acc[i];
}

/** One TQ2_0 block × one activation row: the 8 int32 lanes whose sum is Σ q·a over the block. */
static inline __m256i tq2_block_dot(const uint8_t* wb, const int8_t* qb) {
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256i s = _mm256_setzero_si256();
  for (int c = 0; c < 2; ++c) {
    const __m256i wv = load256(wb + 32 * c);
    const int8_t* q = qb + 128 * c;
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(wv, m3), load256(q)));
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(wv, 2), m3), load256(q + 32)));
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(wv, 4), m3), load256(q + 64)));
    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(wv, 6), m3), load256(q + 96)));
  }
  return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
}

/** One row × one activation row (decode): eight blocks per epilogue step. */
static inline void tq2_row1(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  float acc = 0.0f;
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    __m256i v[8];
    for (int j = 0; j < 8; ++j) {
      const uint8_t* wb = w + (b + j) * TQ2_0_BYTES;
      _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
      _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
      v[j] = tq2_block_dot(wb, q + (b + j) * QK_K);
    }
    acc = tq_epilogue8(a, w, TQ2_0_BYTES, 64, m, b, v, acc);
  }
  for (; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    const int64_t blk = m * nb + b;
    acc = tq_block_accumulate(acc, hsum_i32(tq2_block_dot(wb, q + b * QK_K)) - a.sum[blk], _cvtsh_ss(load_u16(wb + 64)), a.scale[blk]);
  }
  a.out[m * a.N + n] = acc;
}

static void matmul_tq2_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) tq2_row1(a, n, 0);
    return;
  }
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) tq2_row<4>(a, n, m);
    for (; m + 2 <= a.M; m += 2) tq2_row<2>(a, n, m);
    for (; m < a.M; ++m) tq2_row<1>(a, n, m);
  }
}

// ---- TQ1_0 × Q8_K --------------------------------------------------------------------------------------

// Trits of 4 qh bytes: kQhTrits[b] holds trit n of byte b in byte n (n = 0..3).
struct QhTable {
  uint32_t v[256];
  QhTable() {
    for (int b = 0; b < 256; ++b) {
      uint32_t x = 0;
      for (int n = 0; n < 4; ++n) x |= (uint32_t)tq1_trit((uint8_t)b, n) << (8 * n);
      v[b] = x;
    }
  }
};

/** Trits of 32 (ymm) / 16 (xmm) TQ1_0 bytes, biased: s = b ^ 0x80. Trit n of b is (t ≥ 86) +
 *  (t ≥ 171) with t = b·3^n mod 256; the biased t of the next trit is 3·s mod 256 (two byte adds). */
static inline __m256i trit256(__m256i s) {
  const __m256i t1 = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(-43)), t2 = _mm256_cmpgt_epi8(s, _mm256_set1_epi8(42));
  return _mm256_sub_epi8(_mm256_sub_epi8(_mm256_setzero_si256(), t1), t2);
}
static inline __m128i trit128(__m128i s) {
  const __m128i t1 = _mm_cmpgt_epi8(s, _mm_set1_epi8(-43)), t2 = _mm_cmpgt_epi8(s, _mm_set1_epi8(42));
  return _mm_sub_epi8(_mm_sub_epi8(_mm_setzero_si128(), t1), t2);
}

/** One TQ1_0 block as 8 vectors of 32 codes (0..2) in element order. */
static inline void tq1_unpack(const uint8_t* blk, __m256i* c, const QhTable& qh) {
  __m256i s = _mm256_xor_si256(load256(blk), _mm256_set1_epi8((char)0x80));
  for (int n = 0; n < 5; ++n) {  // qs[0..31]: element 32n + m
    c[n] = trit256(s);
    s = _mm256_add_epi8(s, _mm256_add_epi8(s, s));
  }
  __m128i s1 = _mm_xor_si128(load128(blk + 32), _mm_set1_epi8((char)0x80));
  __m128i t[5];
  for (int n = 0; n < 5; ++n) {  // qs[32..47]: element 160 + 16n + m
    t[n] = trit128(s1);
    s1 = _mm_add_epi8(s1, _mm_add_epi8(s1, s1));
  }
  // qh: element 240 + 4n + j is trit n of qh[j]; the table gives byte 4j + n: transpose 4×4.
  const __m128i v = _mm_setr_epi32((int)qh.v[blk[48]], (int)qh.v[blk[49]], (int)qh.v[blk[50]], (int)qh.v[blk[51]]);
  const __m128i h = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  c[5] = _mm256_set_m128i(t[1], t[0]);
  c[6] = _mm256_set_m128i(t[3], t[2]);
  c[7] = _mm256_set_m128i(h, t[4]);
}

template <int RM>
static inline void tq1_row(const TernaryMatmulArgs& a, int64_t n, int64_t m, const QhTable& qh) {
  const int64_t nb = a.K / QK_K;
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  alignas(16) float acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    __m256i c[8];
    tq1_unpack(wb, c, qh);
    __m256i v[RM];
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = q[i] + b * QK_K;
      __m256i s = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[k], load256(qb + 32 * k)));
      v[i] = _mm256_madd_epi16(s, ones);
    }
    tq_epilogue<RM>(a, m, b, _cvtsh_ss(load_u16(wb + 52)), v, acc);
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = acc[i];
}

/** Decode: one row × one activation row, eight blocks per epilogue step. */
static inline void tq1_row1(const TernaryMatmulArgs& a, int64_t n, int64_t m, const QhTable& qh) {
  const int64_t nb = a.K / QK_K;
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  auto block = [&](int64_t b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    __m256i c[8];
    tq1_unpack(wb, c, qh);
    const int8_t* qb = q + b * QK_K;
    __m256i s = _mm256_setzero_si256();
    for (int k = 0; k < 8; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[k], load256(qb + 32 * k)));
    return _mm256_madd_epi16(s, ones);
  };
  float acc = 0.0f;
  int64_t b = 0;
  for (; b + 8 <= nb; b += 8) {
    __m256i v[8];
    for (int j = 0; j < 8; ++j) v[j] = block(b + j);
    acc = tq_epilogue8(a, w, TQ1_0_BYTES, 52, m, b, v, acc);
  }
  for (; b < nb; ++b) {
    const int64_t blk = m * nb + b;
    acc = tq_block_accumulate(acc, hsum_i32(block(b)) - a.sum[blk], _cvtsh_ss(load_u16(w + b * TQ1_0_BYTES + 52)), a.scale[blk]);
  }
  a.out[m * a.N + n] = acc;
}

static void matmul_tq1_0_q8k(const TernaryMatmulArgs& a, int64_t n0, int64_t n1) {
  static const QhTable qh;
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) tq1_row1(a, n, 0, qh);
    return;
  }
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) tq1_row<4>(a, n, m, qh);
    for (; m < a.M; ++m) tq1_row<1>(a, n, m, qh);
  }
}

// ---- float weights × f32 activations -------------------------------------------------------------------

struct LoadF32 {
  static inline __m256 load8(const uint8_t* row, int64_t k) { return _mm256_loadu_ps((const float*)row + k); }
  static inline float load1(const uint8_t* row, int64_t k) { return ((const float*)row)[k]; }
  static constexpr int kBytes = 4;
};
struct LoadF16 {
  static inline __m256 load8(const uint8_t* row, int64_t k) { return _mm256_cvtph_ps(load128(row + 2 * k)); }
  static inline float load1(const uint8_t* row, int64_t k) { return f16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};
struct LoadBF16 {
  static inline __m256 load8(const uint8_t* row, int64_t k) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(row + 2 * k)), 16));
  }
  static inline float load1(const uint8_t* row, int64_t k) { return bf16_to_f32(load_u16(row + 2 * k)); }
  static constexpr int kBytes = 2;
};

/** RN weight rows (pointers) × RM activation rows: out[i][r] = Σ_k w[r][k]·x[i][k]. */
template <class L, int RN, int RM>
static inline void float_tile(const uint8_t* const* w, const float* const* x, int64_t K, float (*res)[RN]) {
  __m256 acc[RN][RM];
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) acc[r][i] = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) {
    if ((k & 31) == 0)
      for (int r = 0; r < RN; ++r) _mm_prefetch((const char*)(w[r] + k * L::kBytes + 1536), _MM_HINT_T0);
    __m256 xv[RM];
    for (int i = 0; i < RM; ++i) xv[i] = _mm256_loadu_ps(x[i] + k);
    for (int r = 0; r < RN; ++r) {
      const __m256 wv = L::load8(w[r], k);
      for (int i = 0; i < RM; ++i) acc[r][i] = _mm256_fmadd_ps(wv, xv[i], acc[r][i]);
    }
  }
  for (int r = 0; r < RN; ++r)
    for (int i = 0; i < RM; ++i) {
      float s = hsum_f32(acc[r][i]);
      for (int64_t kk = k; kk < K; ++kk) s += L::load1(w[r], kk) * x[i][kk];
      res[i][r] = s;
    }
}

template <class L, int RN, int RM>
static void float_rows(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  int64_t n = n0;
  const uint8_t* w[RN];
  const float* x[RM];
  float res[RM][RN];
  for (; n + RN <= n1; n += RN) {
    for (int r = 0; r < RN; ++r) w[r] = a.w + (n + r) * a.row_bytes;
    int64_t m = 0;
    for (; m + RM <= a.M; m += RM) {
      for (int i = 0; i < RM; ++i) x[i] = a.x + (m + i) * a.K;
      float_tile<L, RN, RM>(w, x, a.K, res);
      for (int i = 0; i < RM; ++i)
        for (int r = 0; r < RN; ++r) a.out[(m + i) * a.N + n + r] = res[i][r];
    }
    for (; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      float one[1][RN];
      float_tile<L, RN, 1>(w, x, a.K, one);
      for (int r = 0; r < RN; ++r) a.out[m * a.N + n + r] = one[0][r];
    }
  }
  for (; n < n1; ++n) {
    w[0] = a.w + n * a.row_bytes;
    for (int64_t m = 0; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      float one[1][1];
      float_tile<L, 1, 1>(w, x, a.K, one);
      a.out[m * a.N + n] = one[0][0];
    }
  }
}

template <class L>
static void matmul_float_simd(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  if (a.M == 1) float_rows<L, 4, 1>(a, n0, n1);
  else if (a.M < 4) float_rows<L, 4, 2>(a, n0, n1);
  else float_rows<L, 2, 4>(a, n0, n1);
}

/** k-quant / Q8_0 rows: dequantize 4 rows at a time into f32, then the f32 tile. */
template <DequantRowFn DEQ>
static void matmul_quant_simd(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const int RN = 4;
  float* buf = static_cast<float*>(std::aligned_alloc(64, ((size_t)a.K * 4 * RN + 63) / 64 * 64));
  const uint8_t* w[RN];
  const float* x[4];
  float res[4][RN];
  for (int64_t n = n0; n < n1; n += RN) {
    const int rn = n + RN <= n1 ? RN : (int)(n1 - n);
    for (int r = 0; r < rn; ++r) {
      DEQ(a.w + (n + r) * a.row_bytes, buf + r * a.K, a.K, 0.0f);
      w[r] = (const uint8_t*)(buf + r * a.K);
    }
    for (int64_t m = 0; m < a.M; ++m) {
      x[0] = a.x + m * a.K;
      if (rn == RN) {
        float_tile<LoadF32, RN, 1>(w, x, a.K, res);
      } else {
        for (int r = 0; r < rn; ++r) {
          float one[1][1];
          float_tile<LoadF32, 1, 1>(&w[r], x, a.K, one);
          res[0][r] = one[0][0];
        }
      }
      for (int r = 0; r < rn; ++r) a.out[m * a.N + n + r] = res[0][r];
    }
  }
  std::free(buf);
}

// ---- activation quantization -------------------------------------------------------------------------

/** ggml's nearest_int on 8 lanes, bit-identical to the scalar trick (also for NaN/huge inputs). */
static inline __m256i nearest_int8(__m256 v) {
  const __m256 t = _mm256_add_ps(v, _mm256_set1_ps(12582912.f));
  return _mm256_sub_epi32(_mm256_and_si256(_mm256_castps_si256(t), _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
}

/** Packs 4×8 int32 (already in int8 range) to 32 int8 in order. */
static inline __m256i pack32_i8(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  const __m256i p = _mm256_packs_epi16(ab, cd);
  return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void quantize_i8_row(const float* x, int64_t K, int8_t* q, float* scale, int32_t* sum) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 mx = _mm256_setzero_ps();
  int64_t k = 0;
  for (; k + 8 <= K; k += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + k), absmask), mx);  // NaN lanes keep mx
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float fmax = _mm_cvtss_f32(m4);
  for (int64_t i = k; i < K; ++i) fmax = std::fabs(x[i]) > fmax ? std::fabs(x[i]) : fmax;
  // NaN inputs: the scalar reference ignores them in the max; so does max_ps (it returns the second operand).
  const double dmax = (double)fmax > 0.00001 ? (double)fmax : 0.00001;
  const float s = (float)(127.0 / dmax);
  const __m256 vs = _mm256_set1_ps(s);
  const __m256i lo = _mm256_set1_epi32(-128), hi = _mm256_set1_epi32(127);
  __m256i vsum = _mm256_setzero_si256();
  k = 0;
  for (; k + 32 <= K; k += 32) {
    __m256i v[4];
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_min_epi32(_mm256_max_epi32(nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), vs)), lo), hi);
      vsum = _mm256_add_epi32(vsum, v[j]);
    }
    _mm256_storeu_si256((__m256i*)(q + k), pack32_i8(v[0], v[1], v[2], v[3]));
  }
  int32_t acc = hsum_i32(vsum);
  for (; k < K; ++k) {
    int v = nearest_int(x[k] * s);
    v = v > 127 ? 127 : v < -128 ? -128 : v;
    q[k] = (int8_t)v;
    acc += v;
  }
  *scale = s;
  *sum = acc;
}

static void quantize_q8k_row(const float* x, int64_t K, int8_t* q, float* d, int16_t* bsums) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < K / QK_K; ++b) {
    const float* xb = x + b * QK_K;
    int8_t* qb = q + b * QK_K;
    __m256 mx = _mm256_setzero_ps();
    for (int j = 0; j < QK_K; j += 8) mx = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xb + j), absmask), mx);
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    if (!(amax > 0)) {  // zero block (or only NaN): defer to the reference for identical results
      quantize_q8k_row_ref(xb, QK_K, qb, d + b, bsums + b * 16);
      continue;
    }
    float mxv = 0;
    for (int j = 0; j < QK_K; ++j)
      if (std::fabs(xb[j]) == amax) {
        mxv = xb[j];
        break;
      }
    const float iscale = -127.f / mxv;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i hi = _mm256_set1_epi32(127);
    for (int j = 0; j < QK_K; j += 32) {
      __m256i v[4];
      for (int t = 0; t < 4; ++t) v[t] = _mm256_min_epi32(nearest_int8(_mm256_mul_ps(_mm256_loadu_ps(xb + j + 8 * t), vs)), hi);
      _mm256_storeu_si256((__m256i*)(qb + j), pack32_i8(v[0], v[1], v[2], v[3]));
    }
    for (int j = 0; j < QK_K / 16; ++j) {
      const __m128i v = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(qb + 16 * j)));
      const __m128i w = _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i*)(qb + 16 * j + 8)));
      __m128i s = _mm_madd_epi16(_mm_add_epi16(v, w), _mm_set1_epi16(1));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
      s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
      bsums[b * 16 + j] = (int16_t)_mm_cvtsi128_si32(s);
    }
    d[b] = 1 / iscale;
  }
}

// ---- attention (F16C for the cache) -------------------------------------------------------------------

static void attention_head(const AttentionArgs& a, int64_t t, int64_t h, float* scores) {
  const int64_t D = a.headDim;
  if (D % 8 != 0 || D > 1024) return attention_head_ref(a, t, h, scores);
  const int64_t kvh = h / (a.heads / a.kvHeads);
  const int64_t visible = a.startPos + t + 1;
  const float* q = a.q + (t * a.heads + h) * D;
  float* out = a.out + (t * a.heads + h) * D;
  alignas(32) float qr[1024];
  for (int64_t d = 0; d < D; d += 8)
    _mm256_store_ps(qr + d, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(q + d), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
  const int64_t stride = a.kvHeads * D;
  float mx = -INFINITY;
  for (int64_t p = 0; p < visible; ++p) {
    const uint16_t* k = a.k + p * stride + kvh * D;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t d = 0; d < D; d += 8) acc = _mm256_fmadd_ps(_mm256_load_ps(qr + d), _mm256_cvtph_ps(load128(k + d)), acc);
    const float s = hsum_f32(acc) * a.scale;
    scores[p] = s;
    mx = s > mx ? s : mx;
  }
  double sum = 0;
  for (int64_t p = 0; p < visible; ++p) {
    const float e = std::exp(scores[p] - mx);
    scores[p] = e;
    sum += e;
  }
  const float inv = (float)(1.0 / sum);
  __m256 o[128];
  const int64_t nv = D / 8;
  for (int64_t j = 0; j < nv; ++j) o[j] = _mm256_setzero_ps();
  for (int64_t p = 0; p < visible; ++p) {
    const __m256 wv = _mm256_set1_ps(f16_round(scores[p] * inv));
    const uint16_t* v = a.v + p * stride + kvh * D;
    for (int64_t j = 0; j < nv; ++j) o[j] = _mm256_fmadd_ps(wv, _mm256_cvtph_ps(load128(v + 8 * j)), o[j]);
  }
  for (int64_t j = 0; j < nv; ++j) _mm256_storeu_ps(out + 8 * j, o[j]);
}

// ---- bandwidth probe -----------------------------------------------------------------------------------

static uint64_t stream_read(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256((const __m256i*)(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256((const __m256i*)(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256((const __m256i*)(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256((const __m256i*)(p + i + 96)));
  }
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3));
  return (uint64_t)_mm256_extract_epi64(x, 0) ^ (uint64_t)_mm256_extract_epi64(x, 1) ^ (uint64_t)_mm256_extract_epi64(x, 2) ^
         (uint64_t)_mm256_extract_epi64(x, 3);
}

