/**
 * Test fixture: a deterministic corpus of strings that exercise tokenizer edge cases: prose, code,
 * contractions in every case, digit runs, whitespace runs, CJK, emoji sequences, combining marks,
 * right-to-left and Indic scripts, Unicode spaces and format characters, code points assigned after
 * Unicode 15.1, lone surrogates, special-token look-alikes, and long inputs.
 */

const PROSE = [
  'Hello world',
  'Hello, world!',
  'The quick brown fox jumps over the lazy dog.',
  'BitNet b1.58 uses ternary weights {-1, 0, +1} and 8-bit activations.',
  "It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
  'Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse...',
  'e.g. i.e. etc. Mr. Mrs. Dr. St. U.S.A. a.m. p.m.',
  '"Quoted text," she said; \'single quotes\' too.',
  'Semi-colons; colons: dashes – and — em-dashes … ellipses',
  'What?! Really?? Yes!!! No... Maybe?!?',
  'email me at someone@example.com or visit https://example.org/path?query=1&x=2#frag',
  'Prices: $5.99, €10, £3.50, ¥100, ₹250, 50% off!',
  'C:\\Users\\name\\Documents\\file.txt and /usr/local/bin/node',
  '#hashtag @mention ~tilde ^caret `backtick` |pipe| <angle> [square] {curly}',
  'ALL CAPS SENTENCE WITH SHOUTING',
  'MiXeD CaSe WoRdS aNd CamelCaseIdentifiers',
  'snake_case_identifier and kebab-case-identifier and SCREAMING_SNAKE_CASE',
  'read_file write_file list_dir run_shell search',
  'Naïve café résumé coöperate façade jalapeño',
  'Ünïcödé wïth düäcrïtïcs: àáâãäå èéêë ìíîï òóôõö ùúûü ñ ç',
  'Straße, Grüße, Fußball',
  'Ελληνικά: Καλημέρα κόσμε',
  'Русский текст: Привет, мир!',
  'Українська: Ґанок, їжак, єнот',
];

const CODE = [
  'function add(a, b) {\n  return a + b;\n}',
  'const x = await fetch(url).then((r) => r.json());',
  'def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n',
  'class Foo(Bar):\n\tdef __init__(self):\n\t\tsuper().__init__()\n',
  '#include <stdio.h>\nint main(void) {\n    printf("%d\\n", 42);\n    return 0;\n}\n',
  'fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!("{:?}", v);\n}',
  'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC LIMIT 10;',
  '<div class="container"><p>Hello &amp; welcome</p></div>',
  '{"key": "value", "n": 123, "arr": [1, 2, 3], "nested": {"a": null}}',
  'x += 1; y -= 2; z *= 3; w /= 4; a ||= b; c &&= d; e ??= f;',
  'if (a != b && c == d || !e) { return -1; } else if (f <= g) { return 0; }',
  '    indented with four spaces\n        and eight\n\t\tand two tabs',
  'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("hi")\n}\n',
  'public static void main(String[] args) { System.out.println("Hello"); }',
  '#!/bin/bash\nfor i in $(seq 1 10); do echo "$i"; done\n',
  'a = [x**2 for x in range(10) if x % 2 == 0]',
  'let re = /^[a-z0-9_.+-]+@[a-z0-9-]+\\.[a-z.]+$/i;',
  '// comment\n/* block\n   comment */\n# shell comment\n-- sql comment',
  'matrix[i][j] = matrix[i - 1][j - 1] + cost(i, j)',
  '0x1F 0b1010 0o777 1e-10 3.14159 -2.5E+3 1_000_000',
  '```ts\nconst a: number = 1;\n```',
  'key1=value1\nkey2 = value2\n[section]\nname="x"',
  '$ npm install --save-dev typescript@5.9 && npx tsc -p .',
];

const CONTRACTION_WORDS = ["it's", "don't", "we're", "they've", "I'm", "we'll", "she'd", "can't", "won't", "y'all", "o'clock", "rock'n'roll"];

const SCRIPTS = [
  '你好，世界！这是一个测试。',
  '日本語のテキスト：ひらがな、カタカナ、漢字。',
  '한국어 텍스트: 안녕하세요 세계',
  '中文English混合mixed文本text',
  'مرحبا بالعالم! هذا نص عربي.',
  'שלום עולם! זהו טקסט בעברית.',
  'Mixed RTL: hello مرحبا world שלום 123',
  'ภาษาไทย: สวัสดีชาวโลก ไม่มีช่องว่างระหว่างคำ',
  'हिन्दी: नमस्ते दुनिया, यह एक परीक्षण है।',
  'বাংলা: হ্যালো বিশ্ব',
  'தமிழ்: வணக்கம் உலகம்',
  'ქართული ენა',
  'Հայերեն լեզու',
  'አማርኛ ቋንቋ',
  'ᚠᚢᚦᚨᚱᚲ runes',
  '𝒜𝓁𝓅𝒽𝒶 𝔅𝔢𝔱𝔞 𝕲𝖆𝖒𝖒𝖆 mathematical letters',
  'Ⅻ Ⅳ ⅷ roman numerals, ² ³ ¹ superscripts, ½ ¾ ⅓ fractions, ① ② circled',
  'Arabic-Indic ١٢٣٤٥٦ Devanagari ०१२३४५ fullwidth １２３４５ math 𝟘𝟙𝟚𝟛',
  'Combining: e\u0301 a\u0300 o\u0308 n\u0303 \u0301alone a\u0301\u0302\u0303\u0304 stacked',
  'Zalgo: H\u0335\u0321e\u0337\u031bl\u0338l\u0336o\u0334',
  'Hangul jamo: \u1100\u1161\u11A8 vs 각',
  'Devanagari conjuncts: क्ष त्र ज्ञ श्र',
];

const EMOJI = [
  '😀😃😄😁😆😅😂🤣',
  'I ❤️ emoji 🎉🎊',
  'Family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍👨 technologist: 🧑‍💻',
  'Skin tones: 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿 👋🏽',
  'Flags: 🇺🇸 🇬🇧 🇯🇵 🇩🇪 🇫🇷 🏳️‍🌈 🏴‍☠️',
  'Keycaps: 1️⃣ 2️⃣ #️⃣ *️⃣',
  'Tag sequence: 🏴󠁧󠁢󠁳󠁣󠁴󠁿',
  '🤖🧠⚡️🔥💯✅❌⚠️',
  'text🙂text🙃text',
  '👩🏽‍🚀👨🏿‍🔬🧑🏻‍🎨',
];

const SPACES = [
  '',
  ' ',
  '  ',
  '   ',
  '\t',
  '\n',
  '\r\n',
  '\n\n\n',
  ' \n ',
  '\t\n\t',
  'a b',
  'a  b',
  'a   b',
  ' leading',
  'trailing ',
  '  both  ',
  'line1\nline2\r\nline3\rline4',
  'para1\n\npara2\n\n\npara3',
  'tab\tseparated\tvalues',
  'spaces   \n   around newline',
  'end with newline\n',
  'end with spaces and newline  \n',
  '\ufeffBOM at start',
  'zero\ufeffwidth no-break space inside',
  'ends with BOM\ufeff',
  'non\u00a0breaking\u00a0space',
  'en\u2002em\u2003thin\u2009hair\u200aspaces',
  'ideographic\u3000space',
  'ogham\u1680space and medium\u205fmath space',
  'narrow\u202fno-break',
  'next\u0085line',
  'line\u2028separator and paragraph\u2029separator',
  'zero\u200bwidth\u200cnon\u200djoiner',
  'vertical\u000btab and form\u000cfeed',
  'soft\u00adhyphen',
  'word\u2060joiner',
  '\u00a0\u00a0leading nbsp',
  'mixed \u00a0\u3000\t \n spaces',
];

const UNICODE_EDGES = [
  'unassigned \u0378\u0379 code points',
  'private use \ue000\uf8ff and \u{F0000}',
  'Unicode 16 letters: \u1c89\u1c8a and Garay \u{10D50}\u{10D51}',
  'Unicode 16 symbols: \u{1FAE9}\u{1FA89} and digits \u{1E5F1}\u{1E5F2}',
  'Unicode 15.1: \u2ffc\u31ef \u{2EBF0}\u{2EBF1}',
  'controls \u0000\u0001\u001f\u007f\u0080\u009f',
  'bidi \u202aLRE\u202c \u202eRLO\u202c \u200fRLM \u200eLRM',
  'replacement \ufffd char',
  'noncharacters \ufdd0 \uffff \u{1FFFE}',
  'variation selectors \ufe0e\ufe0f and \u{E0100}',
  'lone high \ud800 surrogate',
  'lone low \udc00 surrogate',
  'reversed pair \udc00\ud800',
  '\ud83d',
  'emoji then lone \ud83d\ude00\ud83d',
  '\udfff at start',
  'mixed \ud834\udd1e\ud834 valid and invalid',
];

const SPECIAL_LOOKALIKES = [
  '<|begin_of_text|>',
  '<|eot_id|>',
  'Hello<|eot_id|>',
  '<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>',
  '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe nice.<|eot_id|>',
  'User: hi<|eot_id|>Assistant: ',
  'System: You are helpful.<|eot_id|>User: What is 2+2?<|eot_id|>Assistant: 4<|eot_id|>',
  '<|end_of_text|> trailing text',
  '<|reserved_special_token_0|><|reserved_special_token_247|>',
  '<|reserved_special_token_250|> (not a real token)',
  '<|eot_id|<|eot_id|>|>',
  '<|eot_id|><|eot_id|>',
  '< |eot_id| >',
  '<|EOT_ID|> upper case is not special',
  '<|python_tag|>print(1)<|eom_id|>',
  '<s></s><unk> <pad> [INST] [/INST] <<SYS>>',
  '<|im_start|>user\nhello<|im_end|>',
  'text <|finetune_right_pad_id|> more',
];

const LONG = [
  'a'.repeat(1000),
  'ab'.repeat(600),
  'x'.repeat(300) + 'y',
  'Pneumonoultramicroscopicsilicovolcanoconiosis',
  'Supercalifragilisticexpialidocious antidisestablishmentarianism',
  'Rindfleischetikettierungsüberwachungsaufgabenübertragungsgesetz',
  '9'.repeat(200),
  ' '.repeat(100) + 'x',
  '\n'.repeat(50),
  '!'.repeat(80),
  '🙂'.repeat(64),
  '的'.repeat(120),
  'ok '.repeat(300),
];

/** mulberry32: small deterministic PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function contractions(): string[] {
  const out: string[] = [];
  for (const suffix of ['s', 't', 're', 've', 'm', 'll', 'd']) {
    const variants = new Set([suffix, suffix.toUpperCase(), suffix[0].toUpperCase() + suffix.slice(1), suffix[0] + suffix.slice(1).toUpperCase()]);
    for (const v of variants) {
      out.push(`word'${v}`, `WORD'${v} next`, `'${v}`, ` '${v}`, `x '${v}y`);
    }
  }
  out.push(...CONTRACTION_WORDS, CONTRACTION_WORDS.join(' '), "I'M SURE IT'S FINE, WE'LL SEE, THEY'VE GONE, YOU'D KNOW, WE'RE DONE");
  out.push("rock 'n' roll", "the '90s", "'tis", "''quoted''", "don\u2019t (curly apostrophe)", "l'été c'est l'heure");
  return out;
}

function digits(): string[] {
  const out: string[] = [];
  for (let n = 1; n <= 24; n++) {
    const run = Array.from({ length: n }, (_, i) => String((i * 7 + 3) % 10)).join('');
    out.push(run, `x${run}y`, ` ${run}`, `${run}.5`);
  }
  out.push('3.14159265358979323846', '1,234,567.89', '2024-01-31T12:34:56Z', '+1 (555) 123-4567', '127.0.0.1:8080', 'v1.2.3-beta.4');
  out.push('١٢٣٤٥٦٧ mixed 123٤٥٦', '１２３４５６７', '12½ 3¾', 'x²+y²=z²', 'Ⅻ12Ⅻ', '1st 2nd 3rd 4th 21st 101st');
  return out;
}

function whitespaceRuns(): string[] {
  const unit = [' ', '\t', '\n', '\r\n', '\r', '\u00a0', '\u3000', '\u0085', '\ufeff'];
  const out: string[] = [];
  for (let i = 0; i < unit.length; i++) {
    for (let j = 0; j < unit.length; j++) {
      if ((i + j) % 2 === 0) out.push(`a${unit[i]}${unit[j]}b`, `${unit[i]}${unit[j]}${unit[i]}end`);
    }
  }
  for (let n = 1; n <= 6; n++) out.push(`word${' '.repeat(n)}word`, `word${'\n'.repeat(n)}word`, `${' '.repeat(n)}\n${' '.repeat(n)}x`, `x${' '.repeat(n)}`);
  return out;
}

/** Random mixtures of the pieces above (seeded, so always the same strings). */
function mixtures(count: number): string[] {
  const rnd = prng(0x5eed);
  const pool = [...PROSE, ...CODE, ...SCRIPTS, ...EMOJI, ...SPACES, ...UNICODE_EDGES, ...CONTRACTION_WORDS, ...SPECIAL_LOOKALIKES];
  const words = pool.flatMap((s) => s.split(/(?<= )/u)).filter((w) => w.length > 0);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 1 + Math.floor(rnd() * 12);
    let s = '';
    for (let k = 0; k < n; k++) {
      const w = words[Math.floor(rnd() * words.length)];
      // cut some words at arbitrary UTF-16 positions (may leave lone surrogates)
      s += rnd() < 0.15 ? w.slice(0, 1 + Math.floor(rnd() * w.length)) : w;
    }
    out.push(s);
  }
  return out;
}

let cached: string[] | undefined;

/** The corpus (same strings, same order, on every call; a fresh array each time). */
export function tokenizerCorpus(): string[] {
  cached ??= [
    ...PROSE,
    ...CODE,
    ...SCRIPTS,
    ...EMOJI,
    ...SPACES,
    ...UNICODE_EDGES,
    ...SPECIAL_LOOKALIKES,
    ...LONG,
    ...contractions(),
    ...digits(),
    ...whitespaceRuns(),
    ...mixtures(220),
    [...PROSE, ...CODE].join('\n\n'),
  ];
  return cached.slice();
}
