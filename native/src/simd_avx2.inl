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
 * The TQ per-block lane epilogue — ggml_vec_dot_tq2_0_q8_K / ggml_vec_dot_tq1_0_q8_K (AVX2) exactly.
 * `lanes` are the block's 8 int32 lane sums that the integer core produces (the vpmaddwd of its 16-bit
 * sums, codes as stored): lane k = Σ q_e·a_e over the block's elements e with (e mod 32) >> 2 == k.
 * Subtract the 32-group sums (gsum8[k] = Σ a[32k .. 32k+31]), convert, FMA by d = da·dw into the 8 f32
 * lanes of acc. A row's value is hsum_f32(acc) (= ggml's hsum_float_8) after its last block.
 */
static inline __m256 tq_lane_epilogue(__m256 acc, __m256i lanes, const int32_t* gsum8, float dw, float da) {
  const __m256i l = _mm256_sub_epi32(lanes, _mm256_loadu_si256((const __m256i*)gsum8));
  return _mm256_fmadd_ps(_mm256_cvtepi32_ps(l), _mm256_set1_ps(da * dw), acc);
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

/** One TQ2_0 weight row n × RM activation rows from m; per block, tq_lane_epilogue. */
template <int RM>
static inline void tq2_row(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  for (int i = 0; i < RM; ++i) q[i] = a.q + (m + i) * a.K;
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
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
    const float dw = _cvtsh_ss(load_u16(wb + 64));
    for (int i = 0; i < RM; ++i) {
      const int64_t blk = (m + i) * nb + b;
      acc[i] = tq_lane_epilogue(acc[i], _mm256_madd_epi16(s16[i], ones), a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

/**
 * One TQ2_0 block × one activation row: its 8 int32 lanes (lane k: Σ q·a over elements with
 * (e mod 32) >> 2 == k). Fields are masked in place in two scale classes (as in i2s_rows_x1): with
 * h = w >> 4, `w & 3` → q[0..32), `w & 0x0C` = 4·code → q[32..64), `h & 3` → q[64..96), `h & 0x0C`
 * → q[96..128) of each 128-half; the ×4 class (at most 4·2·12·128 = 12288 per 16-bit lane) is
 * divided by 4 exactly before widening. Every 16-bit lane holds the same integer as the plain
 * shift-and-mask decode, so the lanes are those of the contract.
 */
static inline __m256i tq2_block_dot(const uint8_t* wb, const int8_t* qb) {
  const __m256i m03 = _mm256_set1_epi8(0x03), m0c = _mm256_set1_epi8(0x0c);
  __m256i s1 = _mm256_setzero_si256(), s4 = _mm256_setzero_si256();
  for (int c = 0; c < 2; ++c) {
    const __m256i wv = load256(wb + 32 * c), h = _mm256_srli_epi16(wv, 4);
    const int8_t* q = qb + 128 * c;
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(wv, m03), load256(q)));
    s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(wv, m0c), load256(q + 32)));
    s1 = _mm256_add_epi16(s1, _mm256_maddubs_epi16(_mm256_and_si256(h, m03), load256(q + 64)));
    s4 = _mm256_add_epi16(s4, _mm256_maddubs_epi16(_mm256_and_si256(h, m0c), load256(q + 96)));
  }
  return _mm256_madd_epi16(_mm256_add_epi16(s1, _mm256_srai_epi16(s4, 2)), _mm256_set1_epi16(1));
}

/** One row × one activation row (decode). */
static inline void tq2_row1(const TernaryMatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK_K;
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q = a.q + m * a.K;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ2_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    _mm_prefetch((const char*)(wb + PF + 64), _MM_HINT_T0);
    const int64_t blk = m * nb + b;
    acc = tq_lane_epilogue(acc, tq2_block_dot(wb, q + b * QK_K), a.sum + blk * 8, _cvtsh_ss(load_u16(wb + 64)), a.scale[blk]);
  }
  a.out[m * a.N + n] = hsum_f32(acc);
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
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * TQ1_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    __m256i c[8];
    tq1_unpack(wb, c, qh);
    const float dw = _cvtsh_ss(load_u16(wb + 52));
    for (int i = 0; i < RM; ++i) {
      const int8_t* qb = q[i] + b * QK_K;
      __m256i s = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(c[k], load256(qb + 32 * k)));
      const int64_t blk = (m + i) * nb + b;
      acc[i] = tq_lane_epilogue(acc[i], _mm256_madd_epi16(s, ones), a.sum + blk * 8, dw, a.scale[blk]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

/** Decode: one row × one activation row. */
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
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const int64_t blk = m * nb + b;
    acc = tq_lane_epilogue(acc, block(b), a.sum + blk * 8, _cvtsh_ss(load_u16(w + b * TQ1_0_BYTES + 52)), a.scale[blk]);
  }
  a.out[m * a.N + n] = hsum_f32(acc);
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

/** GGML_F32x8_REDUCE of ggml_vec_dot_f16's four accumulators (= ggml_reduce_f16_acc). */
static inline float f16_reduce_ggml(__m256 a0, __m256 a1, __m256 a2, __m256 a3) {
  a0 = _mm256_add_ps(a0, a2);
  a1 = _mm256_add_ps(a1, a3);
  a0 = _mm256_add_ps(a0, a1);
  const __m128 t0 = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
  const __m128 t1 = _mm_hadd_ps(t0, t0);
  return _mm_cvtss_f32(_mm_hadd_ps(t1, t1));
}

/** F16 weights × f32 x: ggml_vec_dot_f16 (AVX2) exactly, as matmul_f16_ref (4 × 8 FMA lanes over
 *  K & ~31, the reduction, the tail in double). */
static void matmul_f16_ggml(const FloatMatmulArgs& a, int64_t n0, int64_t n1) {
  const int64_t K = a.K, np = K & ~(int64_t)31;
  for (int64_t n = n0; n < n1; ++n) {
    const uint8_t* w = a.w + n * a.row_bytes;
    _mm_prefetch((const char*)(w + a.row_bytes), _MM_HINT_T0);
    for (int64_t m = 0; m < a.M; ++m) {
      const float* x = a.x + m * K;
      __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t k = 0; k < np; k += 32) {
        _mm_prefetch((const char*)(w + 2 * k + 1024), _MM_HINT_T0);
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k)), _mm256_loadu_ps(x + k), s0);
        s1 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 16)), _mm256_loadu_ps(x + k + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 32)), _mm256_loadu_ps(x + k + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_cvtph_ps(load128(w + 2 * k + 48)), _mm256_loadu_ps(x + k + 24), s3);
      }
      double sum = f16_reduce_ggml(s0, s1, s2, s3);
      for (int64_t k = np; k < K; ++k) sum += (double)(f16_to_f32(load_u16(w + 2 * k)) * x[k]);
      a.out[m * a.N + n] = (float)sum;
    }
  }
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

// ---- attention: attention_head_ref's arithmetic (llama.cpp's non-flash path), vectorized --------------

/** Lane-wise GGML_F32x8_REDUCE tree over 32 accumulator rows (acc[32][D]) → out[D] (= ggml_reduce_f16_acc per d). */
static inline __m256 reduce32_rows(const float* acc, int64_t D, int64_t d) {
  __m256 t[8];
  for (int l = 0; l < 8; ++l)
    t[l] = _mm256_add_ps(_mm256_add_ps(_mm256_load_ps(acc + l * D + d), _mm256_load_ps(acc + (16 + l) * D + d)),
                         _mm256_add_ps(_mm256_load_ps(acc + (8 + l) * D + d), _mm256_load_ps(acc + (24 + l) * D + d)));
  for (int l = 0; l < 4; ++l) t[l] = _mm256_add_ps(t[l], t[l + 4]);
  return _mm256_add_ps(_mm256_add_ps(t[0], t[1]), _mm256_add_ps(t[2], t[3]));
}

/** ggml_hsum8 lane-wise over 8 accumulator rows (acc[8][D]) → out[D]. */
static inline __m256 reduce8_rows(const float* acc, int64_t D, int64_t d) {
  __m256 v[8];
  for (int l = 0; l < 8; ++l) v[l] = _mm256_load_ps(acc + l * D + d);
  const __m256 a0 = _mm256_add_ps(v[0], v[4]), a1 = _mm256_add_ps(v[1], v[5]), a2 = _mm256_add_ps(v[2], v[6]), a3 = _mm256_add_ps(v[3], v[7]);
  return _mm256_add_ps(_mm256_add_ps(a0, a2), _mm256_add_ps(a1, a3));
}

static void attention_head(const AttentionArgs& a, int64_t t, int64_t h, float* scores) {
  const int64_t D = a.headDim;
  if (D % 32 != 0 || D > 256) return attention_head_ref(a, t, h, scores);
  const int64_t kvh = h / (a.heads / a.kvHeads);
  const int64_t visible = a.startPos + t + 1;
  const int64_t stride = a.kvHeads * D;
  const bool batch = a.tokens >= 2;  // tinyBLAS for both matmuls (D % 32 == 0 satisfies its shape rules)
  const float* q = a.q + (t * a.heads + h) * D;
  float* out = a.out + (t * a.heads + h) * D;
  alignas(32) float qr[256];
  for (int64_t d = 0; d < D; d += 8)
    _mm256_store_ps(qr + d, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(q + d), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
  for (int64_t p = 0; p < visible; ++p) {
    const uint16_t* k = a.k + p * stride + kvh * D;
    float s;
    if (batch) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t d = 0; d < D; d += 8) acc = _mm256_fmadd_ps(_mm256_load_ps(qr + d), _mm256_cvtph_ps(load128(k + d)), acc);
      s = hsum_f32(acc);
    } else {
      __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
      for (int64_t d = 0; d < D; d += 32) {
        s0 = _mm256_fmadd_ps(_mm256_load_ps(qr + d), _mm256_cvtph_ps(load128(k + d)), s0);
        s1 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 8), _mm256_cvtph_ps(load128(k + d + 8)), s1);
        s2 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 16), _mm256_cvtph_ps(load128(k + d + 16)), s2);
        s3 = _mm256_fmadd_ps(_mm256_load_ps(qr + d + 24), _mm256_cvtph_ps(load128(k + d + 24)), s3);
      }
      s = f16_reduce_ggml(s0, s1, s2, s3);
    }
    scores[p] = s * a.scale;
  }
  softmax_row_ref(scores, visible);
  // KQV: lane = position mod 8 (tinyBLAS) or mod 32 (vec_dot_f16), vectorized across the head dimension.
  const int64_t L = batch ? 8 : 32;
  alignas(32) float acc[32 * 256];
  std::memset(acc, 0, sizeof(float) * (size_t)(L * D));
  for (int64_t p = 0; p < visible; ++p) {
    const __m256 w = _mm256_set1_ps(f16_round(scores[p]));
    const uint16_t* v = a.v + p * stride + kvh * D;
    float* row = acc + (p & (L - 1)) * D;
    for (int64_t d = 0; d < D; d += 8) _mm256_store_ps(row + d, _mm256_fmadd_ps(w, _mm256_cvtph_ps(load128(v + d)), _mm256_load_ps(row + d)));
  }
  for (int64_t d = 0; d < D; d += 8) _mm256_storeu_ps(out + d, batch ? reduce8_rows(acc, D, d) : reduce32_rows(acc, D, d));
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


// ---- Q8_0 × Q8_0 (ggml_vec_dot_q8_0_q8_0, AVX2) ----------------------------------------------------------
// A self-contained section: the quantizer of the activations and the matmul for Q8_0 weights (the
// optional Q8_0 output matrix). The integer core is ggml's mul_sum_i8_pairs: vpsignb moves the sign of
// the weight onto the activation, vpmaddubsw multiplies |qw| (u8, up to 128) by sign(qw)·qa (s8, in
// [−127, 127] from the quantizer) into 16-bit pairs of at most 2·128·127 = 32512 (no saturation), and
// vpmaddwd widens them: int32 lane k = Σ qw·qa over elements 4k .. 4k+3 of the block, exactly the
// contract's L_{b,k}. The float epilogue is the reference's: fmaf(float(L), fround(dw·da), acc_k) per
// block, hsum_f32 (= ggml_hsum8) at the end, so results are bit-identical to the generic kernel.

/** Lanes L_k of one block: qw (weights) and qa (activations) as 32 int8 each. */
static inline __m256i q8_0_lanes(__m256i qw, __m256i qa) {
  const __m256i dot16 = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qa, qw));
  return _mm256_madd_epi16(dot16, _mm256_set1_epi16(1));
}

static void quantize_q8_0_row(const float* x, int64_t K, int8_t* q, float* d) {
  const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < K / QK8_0; ++b) {
    const float* xb = x + b * QK8_0;
    __m256 v[4];
    for (int t = 0; t < 4; ++t) v[t] = _mm256_loadu_ps(xb + 8 * t);
    __m256 mx = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], absmask), _mm256_and_ps(v[1], absmask)),
                              _mm256_max_ps(_mm256_and_ps(v[2], absmask), _mm256_and_ps(v[3], absmask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    d[b] = f16_round(amax / 127.f);
    const __m256 id = _mm256_set1_ps(amax > 0 ? 127.f / amax : 0.0f);
    __m256i r[4];
    for (int t = 0; t < 4; ++t) r[t] = nearest_int8(_mm256_mul_ps(v[t], id));
    _mm256_storeu_si256((__m256i*)(q + b * QK8_0), pack32_i8(r[0], r[1], r[2], r[3]));
  }
}

/** One Q8_0 weight row n × RM activation rows from m; the weight block is loaded once for all of them. */
template <int RM>
static inline void q8_0_row(const Q8_0MatmulArgs& a, int64_t n, int64_t m) {
  const int64_t nb = a.K / QK8_0;
  const uint8_t* w = a.w + n * a.row_bytes;
  const int8_t* q[RM];
  const float* da[RM];
  for (int i = 0; i < RM; ++i) {
    q[i] = a.q + (m + i) * a.K;
    da[i] = a.d + (m + i) * nb;
  }
  __m256 acc[RM];
  for (int i = 0; i < RM; ++i) acc[i] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* wb = w + b * Q8_0_BYTES;
    _mm_prefetch((const char*)(wb + PF), _MM_HINT_T0);
    const __m256i qw = load256(wb + 2);
    const float dw = _cvtsh_ss(load_u16(wb));
    for (int i = 0; i < RM; ++i) {
      const __m256 lanes = _mm256_cvtepi32_ps(q8_0_lanes(qw, load256(q[i] + b * QK8_0)));
      acc[i] = _mm256_fmadd_ps(lanes, _mm256_set1_ps(dw * da[i][b]), acc[i]);
    }
  }
  for (int i = 0; i < RM; ++i) a.out[(m + i) * a.N + n] = hsum_f32(acc[i]);
}

static void matmul_q8_0_q8_0(const Q8_0MatmulArgs& a, int64_t n0, int64_t n1) {
  // One weight row at a time: a single sequential stream per thread, prefetched PF bytes ahead
  // (across row ends), as the ternary decode kernels.
  prefetch_head(a.w + n0 * a.row_bytes, (size_t)(n1 - n0) * a.row_bytes);
  if (a.M == 1) {
    for (int64_t n = n0; n < n1; ++n) q8_0_row<1>(a, n, 0);
    return;
  }
  for (int64_t n = n0; n < n1; ++n) {
    int64_t m = 0;
    for (; m + 4 <= a.M; m += 4) q8_0_row<4>(a, n, m);
    for (; m + 2 <= a.M; m += 2) q8_0_row<2>(a, n, m);
    for (; m < a.M; ++m) q8_0_row<1>(a, n, m);
  }
}
